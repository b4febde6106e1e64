"""Project configuration and the cross-cutting pieces every app shares.

settings, urls and wsgi, plus the small modules that are not owned by one domain app:
the environment reader (env), the embedded database (database), opaque ids (ids),
the application error type and API envelope (errors, api).
"""
