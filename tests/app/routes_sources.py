"""Route values for the sources pages in the route net (tests/app/test_every_view.py).

The REST API (django-ninja, under its own namespace) is authenticated by org API tokens,
not by the session: its routes are listed as PUBLIC here and their auth is tested in
tests/app/test_push_api.py.
"""

from headway.app.sources.models import ApiToken, ImportRun, Source, SourceKind


def _source(org, kind=SourceKind.SQL):
    return Source.objects.get_or_create(org=org, name=f"route net {kind}", defaults={"kind": kind})[0]


VALUES = {
    "source_id": lambda org: _source(org).pk,
    "import_id": lambda org: ImportRun.objects.get_or_create(org=org, source=_source(org, SourceKind.FILE))[0].pk,
    "token_id": lambda org: ApiToken.issue(org, "route net")[0].pk,
}

PUBLIC = {"openapi-json", "openapi-view", "api-root", "api_push_rows", "api_push_points"}
