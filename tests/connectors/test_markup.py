"""connectors.markup: wiki markup, ADF and Confluence storage XHTML become structured plain text."""

from __future__ import annotations

import json

from connectors.markup import adf_to_text, looks_like_wiki, looks_like_xhtml, storage_to_text, to_text, wiki_to_text

WIKI_STORY = r"""h2. Payment extension request

As a *contact-centre agent* I want to grant a _payment extension_ so that the customer avoids disconnection.

h3. Acceptance Criteria
* Customer with an *active* account can request an extension of up to {{21}} days
** Extension date is shown on the {{Account Summary}} tab
* Accounts in {color:red}collections{color} cannot request an extension
# First the agent verifies identity
# Then the agent records the reason
## Reason is one of the picklist values

||Tier||Max days||
|Standard|14|
|Hardship|[21|https://wiki.example.com/hardship]|

{code:sql}
SELECT * FROM extension WHERE days > 21;
{code}

{noformat}
raw *not bold* text
{noformat}

{quote}Customers must be told the new due date.{quote}

{panel:title=Heads up}Extensions over 21 days need a team leader.{panel}

See [~jane.doe] and [the policy|https://wiki.example.com/policy]. -Old rule- +New rule+ apply.\\Second line.
!flow.png|thumbnail!
"""


def test_wiki_headings_lists_tables_and_code_keep_structure() -> None:
    text = wiki_to_text(WIKI_STORY)
    lines = text.split("\n")
    assert "## Payment extension request" in lines
    assert "### Acceptance Criteria" in lines
    assert "- Customer with an active account can request an extension of up to 21 days" in lines
    assert "  - Extension date is shown on the Account Summary tab" in lines
    assert "- Accounts in collections cannot request an extension" in lines
    assert "1. First the agent verifies identity" in lines
    assert "2. Then the agent records the reason" in lines
    assert "  1. Reason is one of the picklist values" in lines
    assert "Tier | Max days" in lines
    assert "Standard | 14" in lines
    assert "Hardship | 21 (https://wiki.example.com/hardship)" in lines
    # code and noformat bodies are kept verbatim, fenced
    i = lines.index("```sql")
    assert lines[i + 1] == "SELECT * FROM extension WHERE days > 21;" and lines[i + 2] == "```"
    assert "raw *not bold* text" in lines
    assert "> Customers must be told the new due date." in lines
    assert "Heads up" in lines and "Extensions over 21 days need a team leader." in lines
    assert "See @jane.doe and the policy (https://wiki.example.com/policy). Old rule New rule apply." in lines
    assert "Second line." in lines
    assert "(image: flow.png)" in lines
    assert "As a contact-centre agent I want to grant a payment extension so that the customer avoids disconnection." in lines
    for marker in ("{code", "{color", "{panel", "{quote", "h3.", "||", "{{"):
        assert marker not in text.replace("```sql", "")


def test_wiki_inline_markers_do_not_eat_ordinary_punctuation() -> None:
    text = wiki_to_text("Move-in date 2025-01-05 - the customer pays 3*4 = 12 dollars, snake_case_name stays")
    assert text == "Move-in date 2025-01-05 - the customer pays 3*4 = 12 dollars, snake_case_name stays"


ADF_DOC = {
    "type": "doc",
    "version": 1,
    "content": [
        {"type": "heading", "attrs": {"level": 3}, "content": [{"type": "text", "text": "Acceptance Criteria"}]},
        {
            "type": "bulletList",
            "content": [
                {
                    "type": "listItem",
                    "content": [
                        {"type": "paragraph", "content": [
                            {"type": "text", "text": "Concession is applied "},
                            {"type": "text", "text": "within 24 hours", "marks": [{"type": "strong"}]},
                        ]},
                        {"type": "bulletList", "content": [
                            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "nested detail"}]}]},
                        ]},
                    ],
                },
                {"type": "listItem", "content": [{"type": "paragraph", "content": [
                    {"type": "text", "text": "Notify "},
                    {"type": "mention", "attrs": {"id": "abc", "text": "@Sam Lee"}},
                    {"type": "text", "text": " "},
                    {"type": "emoji", "attrs": {"shortName": ":warning:", "text": "\u26a0"}},
                ]}]},
            ],
        },
        {"type": "orderedList", "attrs": {"order": 3}, "content": [
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "third"}]}]},
            {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "fourth"}]}]},
        ]},
        {"type": "codeBlock", "attrs": {"language": "json"}, "content": [{"type": "text", "text": "{\n  \"days\": 21\n}"}]},
        {"type": "blockquote", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "quoted rule"}]}]},
        {"type": "table", "content": [
            {"type": "tableRow", "content": [
                {"type": "tableHeader", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Tier"}]}]},
                {"type": "tableHeader", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Days"}]}]},
            ]},
            {"type": "tableRow", "content": [
                {"type": "tableCell", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Gold"}]}]},
                {"type": "tableCell", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "30"}]}]},
            ]},
        ]},
        {"type": "panel", "attrs": {"panelType": "info"}, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "panel text"}]}]},
        {"type": "rule"},
        {"type": "paragraph", "content": [
            {"type": "text", "text": "line one"},
            {"type": "hardBreak"},
            {"type": "text", "text": "policy", "marks": [{"type": "link", "attrs": {"href": "https://x.example/p"}}]},
            {"type": "text", "text": " and "},
            {"type": "inlineCard", "attrs": {"url": "https://jira.example/browse/CW-1"}},
        ]},
    ],
}


def test_adf_document_to_structured_text() -> None:
    lines = adf_to_text(ADF_DOC).split("\n")
    assert lines[0] == "### Acceptance Criteria"
    assert "- Concession is applied within 24 hours" in lines
    assert "  - nested detail" in lines
    assert "- Notify @Sam Lee \u26a0" in lines
    assert "3. third" in lines and "4. fourth" in lines
    i = lines.index("```json")
    assert lines[i + 1 : i + 4] == ["{", '  "days": 21', "}"] and lines[i + 4] == "```"
    assert "> quoted rule" in lines
    assert "Tier | Days" in lines and "Gold | 30" in lines
    assert "panel text" in lines and "---" in lines
    assert "line one" in lines
    assert "policy (https://x.example/p) and https://jira.example/browse/CW-1" in lines


STORAGE = """<h1>Payment extensions</h1>
<p>Agents <strong>may</strong> grant an extension.</p>
<h2>Limits</h2>
<ac:structured-macro ac:name="info" ac:schema-version="1"><ac:parameter ac:name="title">Threshold</ac:parameter>
<ac:rich-text-body><p>Max <em>21</em> days for residential customers.</p></ac:rich-text-body></ac:structured-macro>
<ac:structured-macro ac:name="warning"><ac:rich-text-body><p>Never for accounts in collections.</p></ac:rich-text-body></ac:structured-macro>
<ul><li>one<ul><li>nested</li></ul></li><li><p>two</p></li></ul>
<ol><li>first</li><li>second</li></ol>
<table><tbody><tr><th>Tier</th><th>Days</th></tr><tr><td><p>Gold</p></td><td>30</td></tr><tr><td>Standard</td><td>14</td></tr></tbody></table>
<ac:structured-macro ac:name="code"><ac:parameter ac:name="language">sql</ac:parameter><ac:plain-text-body><![CDATA[SELECT *
FROM extension WHERE days < 21;]]></ac:plain-text-body></ac:structured-macro>
<p>See <ac:link><ri:page ri:content-title="Hardship policy" /></ac:link>, ask <ac:link><ri:user ri:username="jdoe" /></ac:link><br/>next line</p>
<ac:structured-macro ac:name="toc" />
<ac:structured-macro ac:name="expand"><ac:parameter ac:name="title">Exceptions</ac:parameter><ac:rich-text-body><h3>Medical</h3><p>Life support customers are exempt.</p></ac:rich-text-body></ac:structured-macro>
"""


def test_storage_headings_macros_tables_and_links() -> None:
    lines = storage_to_text(STORAGE).split("\n")
    assert lines[0] == "# Payment extensions"
    assert "Agents may grant an extension." in lines
    assert "## Limits" in lines
    assert "Threshold" in lines and "Max 21 days for residential customers." in lines
    assert "Never for accounts in collections." in lines
    assert "- one" in lines and "  - nested" in lines and "- two" in lines
    assert "1. first" in lines and "2. second" in lines
    i = lines.index("Tier | Days")
    assert lines[i + 1 : i + 3] == ["Gold | 30", "Standard | 14"]
    j = lines.index("```sql")
    assert lines[j + 1 : j + 4] == ["SELECT *", "FROM extension WHERE days < 21;", "```"]
    assert "See Hardship policy, ask @jdoe" in lines and "next line" in lines
    assert "Exceptions" in lines and "### Medical" in lines and "Life support customers are exempt." in lines
    assert not any("ac:" in ln or "language" == ln for ln in lines)


def test_to_text_dispatches_and_leaves_plain_and_markdown_alone() -> None:
    assert to_text(None) == ""
    assert to_text(ADF_DOC) == adf_to_text(ADF_DOC)
    assert to_text(json.dumps(ADF_DOC)) == adf_to_text(ADF_DOC)
    assert to_text(STORAGE) == storage_to_text(STORAGE)
    assert to_text(WIKI_STORY) == wiki_to_text(WIKI_STORY)
    markdown = (
        "## Rules\n\n- Call `GET {{baseUrl}}/1.0/kb/accounts` with **valid** key\n- snake_case_field is kept\n\n"
        "```json\n[\"a\", \"b\"]\n```"
    )
    assert to_text(markdown) == markdown
    plain = "The customer must be 18 or older.\nOtherwise the form is rejected."
    assert to_text(plain) == plain
    assert to_text("line one\r\nline two") == "line one\nline two"
    assert looks_like_wiki("h3. Rules\n* one") and not looks_like_wiki("# Rules\n- one")
    # converting already converted text changes nothing
    once = wiki_to_text(WIKI_STORY)
    assert to_text(once) == once


def test_markdown_heading_pasted_into_wiki_text_stays_a_heading() -> None:
    text = (
        "Rules: [Identity rules|https://wiki.example.com/200003]\n\n## Acceptance Criteria\n"
        "- The *Reset PIN* button is enabled only after the caller is verified.\n\n"
        "# first step\n# second step"
    )
    lines = wiki_to_text(text).split("\n")
    assert "## Acceptance Criteria" in lines
    assert "- The Reset PIN button is enabled only after the caller is verified." in lines
    assert lines[-2:] == ["1. first step", "2. second step"]


def test_plain_text_with_markup_characters_is_text_only_real_documents_convert() -> None:
    # a tag pasted into a plain-text field is part of the text, never a reason to drop it
    for plain in (
        "<script>alert(1)</script>",
        "<b>Important</b>: the customer must confirm the e-mail.",
        "Names like <script>x</script> are shown escaped.\nA total above 5 < 7 is rejected.",
        "<p>starts like a document</p> but goes on as text\nand has more lines.",
    ):
        assert not looks_like_xhtml(plain), plain
        assert to_text(plain) == plain
    # real storage documents still convert, top-level whitespace and all
    assert looks_like_xhtml(STORAGE)
    assert looks_like_xhtml("<p>One</p>\n<ul><li>two</li></ul>")
    assert to_text("<p>One</p>\n<ul><li>two</li></ul>") == "One\n\n- two"
    assert looks_like_xhtml('<ac:structured-macro ac:name="info"><ac:rich-text-body><p>x</p></ac:rich-text-body></ac:structured-macro>')
