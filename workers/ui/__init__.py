"""The review pages: a QA lead reads, edits and approves a run before it reaches Jira (app.py:
routes; auth.py: login, session, CSRF; views.py: what a page shows; forms.py: the edit form;
templates/ and static/: the HTML, CSS and a little JavaScript)."""
