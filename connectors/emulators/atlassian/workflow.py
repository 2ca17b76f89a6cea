"""The emulator's workflow: the statuses an issue can be in and the transitions between them.

It behaves like a Jira team-managed workflow in which every status can be reached from every
other by a global transition named after the status it leads to. The statuses are To Do,
In Progress, Done and every status a seeded issue is in; `add_status` adds more (a test adds
"Obsolete", say, to try a retire status).
Transition ids follow Jira's default numbering (11, 21, 31, ...), one per status.
"""

from __future__ import annotations

from typing import Any

# status category key -> (id, colour, name), as Jira's /statuscategory lists them
CATEGORIES = {"new": (2, "blue-gray", "To Do"), "indeterminate": (4, "yellow", "In Progress"),
              "done": (3, "green", "Done")}


class WorkflowError(ValueError):
    pass


class Workflow:
    def __init__(self) -> None:
        self.statuses: list[dict[str, str]] = []
        for name, category in (("To Do", "new"), ("In Progress", "indeterminate"), ("Done", "done")):
            self.add_status(name, category)

    def add_status(self, name: str, category: str = "done") -> dict[str, str]:
        if category not in CATEGORIES:
            category = "indeterminate"
        found = self.status(name)
        if found is not None:
            return found
        status = {"id": str(10000 + len(self.statuses)), "name": name, "category": category,
                  "transition": str(11 + 10 * len(self.statuses))}
        self.statuses.append(status)
        return status

    def status(self, name: str) -> dict[str, str] | None:
        return next((s for s in self.statuses if s["name"].lower() == str(name).lower()), None)

    @staticmethod
    def status_json(base: str, status: dict[str, str]) -> dict[str, Any]:
        cid, colour, cname = CATEGORIES[status["category"]]
        return {"self": f"{base}/rest/api/2/status/{status['id']}", "description": "", "iconUrl": f"{base}/images/icons/status.gif",
                "name": status["name"], "id": status["id"],
                "statusCategory": {"self": f"{base}/rest/api/2/statuscategory/{cid}", "id": cid,
                                   "key": status["category"], "colorName": colour, "name": cname}}

    def transitions(self, base: str, issue: dict[str, Any]) -> list[dict[str, Any]]:
        """The transitions available to `issue`: one to every status but its own."""
        current = str((issue["fields"].get("status") or {}).get("name") or "").lower()
        return [{"id": s["transition"], "name": s["name"], "to": self.status_json(base, s), "hasScreen": False,
                 "isGlobal": True, "isInitial": False, "isAvailable": True, "isConditional": False, "isLooped": False}
                for s in self.statuses if s["name"].lower() != current]

    def apply(self, base: str, issue: dict[str, Any], transition_id: str) -> None:
        """Move `issue` by the transition `transition_id`; WorkflowError when it is not available."""
        hit = next((t for t in self.transitions(base, issue) if t["id"] == str(transition_id)), None)
        if hit is None:
            raise WorkflowError(f"Transition id '{transition_id}' is not valid for this issue.")
        issue["fields"]["status"] = hit["to"]
