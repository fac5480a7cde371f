"""Helpers for the tests of services/contacts.py and services/push.py: what the simulated account holds."""


def remote_contacts(sim):
    return {
        c.contact_id: (c.contact_number, c.first_name, c.last_name, c.title)
        for c in sim.state.contacts.values()
    }


def members(sim, group):
    group.refresh_from_db()
    return sim.state.group_members(group.remote_id)


def calls(sim, method=None, fragment=""):
    return [r for r in sim.requests if (method is None or r.method == method) and fragment in r.path]
