"""The model of the local internet: what each URL answers, how slowly, how often it fails.

Everything here is a pure function of a seed and a URL path, with no I/O and no
clock: `fate(config, "/site/17")` says whether that page answers 200, answers
500, resets the connection, or never answers, and after how long. Because the
answer depends on the path and never on the order in which requests arrive,
every fetch strategy sees exactly the same failures, and a test can compute
the expected outcome of any URL without asking the server.

Pages are small HTML documents of exactly `size` bytes, each linking to a few
other pages of the same local internet (a seeded link graph), so a crawler or
the classic "fetch, extract hrefs, write results" pipeline has something to
follow.

Read next: `internet.py`, which starts the server that plays this model over real sockets.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin

__all__ = [
    "ERROR_KINDS",
    "Fate",
    "LatencyModel",
    "SiteConfig",
    "extract_links",
    "fate",
    "links_of",
    "page_body",
]

ERROR_KINDS = ("500", "reset", "timeout")
"""The ways a page can fail: HTTP 500, a TCP reset, or no answer at all."""

_PAGE = re.compile(r"/site/(\d+)\Z")
_HREF = re.compile(r"""href=["']([^"'#]+)["']""", re.IGNORECASE)
_FILLER = b"All work and no play makes the event loop a dull loop. "


def _unit(seed: int, path: str, salt: str) -> float:
    """A number in [0, 1) that depends only on (seed, path, salt): our reproducible dice."""
    digest = hashlib.sha256(f"{seed}|{salt}|{path}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


@dataclass(frozen=True)
class LatencyModel:
    """A response-time distribution, parsed from a number or a short spec.

    Specs: `0.1` or `"fixed:0.1"` (always 0.1 s), `"uniform:0.05:0.2"`,
    `"exp:0.1"` (exponential, mean 0.1 s), `"pareto:0.05:1.5"` (scale 0.05 s,
    shape 1.5: mostly fast, with a long tail of very slow answers). Samples
    are capped at `cap` seconds so one unlucky page cannot stall a run forever.
    """

    kind: str
    params: tuple[float, ...]
    cap: float = 30.0

    @classmethod
    def parse(cls, spec: float | str) -> LatencyModel:
        """Build a model from a number of seconds or a spec string.

        Raises:
            ValueError: the spec is not one of the forms above.
        """
        if isinstance(spec, int | float):
            return cls._checked("fixed", (float(spec),))
        text = str(spec).strip()
        name, _, rest = text.partition(":")
        try:
            if not rest:
                return cls._checked("fixed", (float(name),))
            params = tuple(float(p) for p in rest.split(":"))
        except ValueError:
            raise ValueError(cls._help(text)) from None
        arity = {"fixed": 1, "uniform": 2, "exp": 1, "pareto": 2}
        if arity.get(name) != len(params):
            raise ValueError(cls._help(text))
        return cls._checked(name, params)

    @classmethod
    def _checked(cls, kind: str, params: tuple[float, ...]) -> LatencyModel:
        if any(p < 0 or math.isnan(p) for p in params) or (kind == "pareto" and params[1] <= 0):
            raise ValueError(f"latency parameters must be positive numbers, got {kind}{params}")
        return cls(kind, params)

    @staticmethod
    def _help(text: str) -> str:
        return (
            f"bad latency {text!r}: use seconds (0.1) or fixed:S, uniform:LOW:HIGH, "
            f"exp:MEAN or pareto:SCALE:SHAPE"
        )

    def sample(self, u: float) -> float:
        """The latency for a uniform draw `u` in [0, 1) (inverse-CDF sampling)."""
        p = self.params
        if self.kind == "fixed":
            value = p[0]
        elif self.kind == "uniform":
            value = p[0] + (p[1] - p[0]) * u
        elif self.kind == "exp":
            value = -p[0] * math.log(1.0 - u)
        else:  # pareto
            value = p[0] * (1.0 - u) ** (-1.0 / p[1])
        return min(value, self.cap)

    def __str__(self) -> str:
        return ":".join([self.kind, *(f"{p:g}" for p in self.params)])


@dataclass(frozen=True)
class SiteConfig:
    """Everything that decides what the local internet answers.

    Attributes:
        seed: the seed of every random choice (latency, errors, links).
        latency: seconds, or a distribution spec (see `LatencyModel`).
        error_rate: the fraction of pages that fail, in [0, 1].
        errors: the failure kinds to draw from, evenly (subset of ERROR_KINDS).
        size: every page body's length in bytes, exactly.
        bandwidth: bytes per second per response (None: as fast as loopback).
        sites: how many pages the link graph spans (/site/0 ... /site/sites-1).
        links: links per page.
    """

    seed: int = 1
    latency: float | str = 0.1
    error_rate: float = 0.0
    errors: tuple[str, ...] = ERROR_KINDS
    size: int = 2048
    bandwidth: float | None = None
    sites: int = 1000
    links: int = 5
    latency_model: LatencyModel = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "latency_model", LatencyModel.parse(self.latency))
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error_rate must be between 0 and 1, got {self.error_rate}")
        unknown = set(self.errors) - set(ERROR_KINDS)
        if unknown or not self.errors:
            raise ValueError(
                f"errors must be a non-empty subset of {ERROR_KINDS}, got {self.errors}"
            )
        if self.bandwidth is not None and self.bandwidth <= 0:
            raise ValueError(f"bandwidth must be positive bytes/s (or None), got {self.bandwidth}")
        if self.sites < 1 or self.links < 0:
            raise ValueError("sites must be >= 1 and links >= 0")
        minimum = len(_render(self, 10**9 - 1, b""))
        if self.size < minimum:
            raise ValueError(
                f"size={self.size} is too small: a page with {self.links} links needs at least "
                f"{minimum} bytes; use a larger size or fewer links"
            )

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON-able values (for the command line and /_config)."""
        data = asdict(self)
        data.pop("latency_model", None)
        data["errors"] = list(self.errors)
        return data


@dataclass(frozen=True)
class Fate:
    """What the server does with one request.

    Attributes:
        kind: "ok", "500", "reset" or "timeout" (never answers).
        delay: seconds before the answer (or the reset).
    """

    kind: str
    delay: float

    @property
    def status(self) -> int | None:
        """The HTTP status the client will see (None: no response at all)."""
        return {"ok": 200, "500": 500}.get(self.kind)


def fate(config: SiteConfig, path: str) -> Fate:
    """Decide, from the seed and the path alone, how the server treats `path`."""
    delay = config.latency_model.sample(_unit(config.seed, path, "latency"))
    if _unit(config.seed, path, "error") < config.error_rate:
        pick = int(_unit(config.seed, path, "kind") * len(config.errors))
        return Fate(config.errors[pick], delay)
    return Fate("ok", delay)


def links_of(config: SiteConfig, number: int) -> list[int]:
    """The page numbers that page `number` links to (seeded, may repeat)."""
    return [
        int(_unit(config.seed, f"/site/{number}", f"link{i}") * config.sites)
        for i in range(config.links)
    ]


def page_number(path: str) -> int | None:
    """17 for "/site/17"; None for any other path."""
    match = _PAGE.match(path)
    return int(match.group(1)) if match else None


@lru_cache(maxsize=4096)
def page_body(config: SiteConfig, number: int) -> bytes:
    """The HTML of page `number`: exactly `config.size` bytes, links included.

    Cached: a busy server renders each popular page once, not once per request.
    """
    bare = _render(config, number, b"")
    missing = config.size - len(bare)
    filler = (_FILLER * (missing // len(_FILLER) + 1))[:missing]
    return _render(config, number, filler)


def _render(config: SiteConfig, number: int, filler: bytes) -> bytes:
    items = "".join(
        f'<li><a href="/site/{n}">site {n}</a></li>\n' for n in links_of(config, number)
    )
    head = (
        f"<!doctype html>\n<html><head><title>Site {number}</title></head>\n"
        f"<body><h1>Site {number}</h1>\n<ul>\n{items}</ul>\n<p>"
    )
    return head.encode() + filler + b"</p></body></html>\n"


def extract_links(html: str | bytes, base_url: str) -> list[str]:
    """Every href in `html`, made absolute against `base_url`, in order, without repeats."""
    text = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
    seen: dict[str, None] = {}
    for href in _HREF.findall(text):
        url = urljoin(base_url, href)
        if url.startswith(("http://", "https://")):
            seen.setdefault(url, None)
    return list(seen)
