"""`python -m minireactor.grader grade|release ...`: the grader without the main CLI."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
