"""Pay Django's first-request costs in the server's parent process, before workers fork.

Django imports the URLconf (and with it every view module, the API's schemas and their
validators) on the first request a process serves, and compiles each template the first time
it is rendered. Under gunicorn every worker paid that on its first request: the first login
after a start took 4.1 s where later ones took 0.9 s (0.9 s is the password hash), and the
first conversation page a second worker served took 2.3 s against 0.1-0.2 s (2-core machine,
demo data). Doing it once here, before the fork, leaves the workers only their own database
connection to open.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.urls import URLResolver

import calmdesk


@dataclass(frozen=True)
class DjangoWarmUp:
    url_patterns: int
    templates: int


def _compile_patterns(resolver: URLResolver) -> int:
    count = 0
    for entry in resolver.url_patterns:
        entry.pattern.regex  # noqa: B018 - compiled on first access
        if isinstance(entry, URLResolver):
            count += _compile_patterns(entry)
        else:
            count += 1
    return count


def warm_django() -> DjangoWarmUp:
    from django.template.loader import get_template
    from django.template.utils import get_app_template_dirs
    from django.urls import get_resolver

    resolver = get_resolver()
    # Importing the URLconf imports every view module it names.
    url_patterns = _compile_patterns(resolver)
    resolver.reverse_dict  # noqa: B018 - built on first access
    package = Path(calmdesk.__file__).resolve().parent
    compiled = 0
    for directory in get_app_template_dirs("templates"):
        if package not in Path(directory).resolve().parents:
            continue  # Django's and third parties' templates are compiled when first used.
        for path in sorted(Path(directory).rglob("*.html")):
            get_template(path.relative_to(directory).as_posix())
            compiled += 1
    return DjangoWarmUp(url_patterns=url_patterns, templates=compiled)
