"""The CRM store: typed models, sessions, migrations and the lead service.

`crm_bridge` is a library with no face of its own and imports nothing else of leadbot's.
Typical use, one unit of work per action run::

    from crm_bridge.leads import save_answers
    from crm_bridge.migrate import upgrade
    from crm_bridge.retry import with_retries
    from crm_bridge.store import make_engine, make_session_factory

    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    lead = with_retries(lambda session: save_answers(session, ref, fields, answers, []), sessions)
"""
