"""The Clipia model catalog of the sandbox: model cards, input validation and pricing.

Each model declares its parameters once; the same declaration renders the ``input_schema`` of
``GET /v1/models``, validates submitted input (``400 model_input_invalid`` naming the parameter
and what it allows) and yields the warnings for keys the model will not apply.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from clipgen_provider.sandbox.clipia_http import ClipiaError

_TYPE_NAMES = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean"}


def is_http_url(value: str) -> bool:
    """Tell whether ``value`` is an absolute ``http(s)`` URL with a host."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and len(value) <= 2048


def _has_type(kind: str, value: Any) -> bool:
    """Tell whether a JSON value has a parameter type (booleans are not numbers)."""
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int)
    if kind == "number":
        return isinstance(value, (int, float))
    return isinstance(value, str)


def _within(value: float, low: float | None, high: float | None) -> bool:
    """Tell whether ``value`` lies inside optional inclusive bounds."""
    return (low is None or value >= low) and (high is None or value <= high)


def _bounds(low: float | None, high: float | None) -> str:
    """Describe optional inclusive bounds in words, for error messages."""
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    return f"at least {low:g}" if low is not None else f"at most {high:g}"


@dataclass(frozen=True)
class Param:
    """One input parameter of a model, as the catalog describes and the sandbox enforces it."""

    name: str
    type: str
    label: str
    hint: str | None = None
    required: bool = False
    default: Any = None
    options: tuple[Any, ...] | None = None
    #: ``"url"``: an absolute http(s) URL
    validation: str | None = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    min_length: int | None = None
    max_length: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the parameter as it appears in ``input_schema.parameters``."""
        return {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "default": self.default,
            "label": self.label,
            "hint": self.hint,
            "options": list(self.options) if self.options is not None else None,
            "validation": self.validation,
            "min": self.min,
            "max": self.max,
            "step": self.step,
            "minLength": self.min_length,
            "maxLength": self.max_length,
        }

    def check(self, value: Any) -> None:
        """Raise ``400 model_input_invalid`` when ``value`` breaks this parameter's rules."""
        if not _has_type(self.type, value):
            self._reject(f"must be {_TYPE_NAMES[self.type]}", value)
        if self.options is not None and value not in self.options:
            self._reject("must be one of " + ", ".join(json.dumps(o) for o in self.options), value)
        if isinstance(value, str):
            self._check_length(value)
            if self.validation == "url" and not is_http_url(value):
                self._reject("must be an absolute http(s) URL", value)
        elif not isinstance(value, bool) and not _within(value, self.min, self.max):
            self._reject(f"must be {_TYPE_NAMES[self.type]} {_bounds(self.min, self.max)}", value)

    def _check_length(self, value: str) -> None:
        """Enforce ``minLength`` / ``maxLength`` on a string value."""
        if not _within(len(value), self.min_length, self.max_length):
            self._reject(f"must be {_bounds(self.min_length, self.max_length)} characters long", len(value))

    def _reject(self, rule: str, got: Any) -> None:
        """Raise the validation error for this parameter."""
        shown = json.dumps(got)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        raise ClipiaError(400, "model_input_invalid", f"input.{self.name} {rule} (got {shown})")


@dataclass(frozen=True)
class Pricing:
    """The ``pricing`` block of a model card."""

    billing_unit: str
    minimum_credits: int
    note: str
    credits: int | None = None
    unit_size: int = 1
    credits_base: int | None = None
    multipliers: Mapping[str, Mapping[str, float]] | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the block; ``estimate_required`` is true exactly when ``credits`` is absent."""
        return {
            "credits": self.credits,
            "billing_unit": self.billing_unit,
            "unit_size": self.unit_size,
            "minimum_credits": self.minimum_credits,
            "available": True,
            "estimate_required": self.credits is None,
            "credits_base": self.credits_base,
            "multipliers": {k: dict(v) for k, v in self.multipliers.items()} if self.multipliers else None,
            "note": self.note,
        }


@dataclass(frozen=True)
class Model:
    """A model card plus what the sandbox needs to run it: its price rule and its output shape."""

    slug: str
    type: str
    name: str
    description: str
    capabilities: tuple[str, ...]
    pricing: Pricing
    params: tuple[Param, ...]
    #: ``(name, label, parameter names)`` of each ``parameterGroups`` entry
    groups: tuple[tuple[str, str, tuple[str, ...]], ...]
    #: credits for a validated input (defaults applied)
    price: Callable[[Mapping[str, Any]], int]
    #: number of audio tracks an audio model returns
    audio_tracks: int = 1
    requires_subscription: bool = False
    text_limits: tuple[int, int] | None = None
    declared: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "declared", frozenset(p.name for p in self.params))

    @property
    def queued(self) -> bool:
        """Text models are served by the chat API, every other type by the queue."""
        return self.type != "text"

    def as_dict(self) -> dict[str, Any]:
        """Return the ``Model`` object of the contract."""
        return {
            "id": "mdl_" + self.slug.replace("-", "_").replace(".", "_"),
            "slug": self.slug,
            "type": self.type,
            "name": self.name,
            "description": self.description,
            "capabilities": list(self.capabilities),
            "pricing": self.pricing.as_dict(),
            "input_schema": {
                "parameters": [p.as_dict() for p in self.params],
                "parameterGroups": [
                    {"name": name, "label": label, "parameters": list(names)}
                    for name, label, names in self.groups
                ],
            },
            "text_limits": (
                {"min_chars": self.text_limits[0], "max_chars": self.text_limits[1]}
                if self.text_limits
                else None
            ),
        }


def _prompt(max_length: int, *, required: bool = True, min_length: int = 1) -> Param:
    """The ``prompt`` parameter every model shares, with its own length bounds."""
    return Param(
        "prompt",
        "string",
        "Prompt",
        hint="What to generate. Sandbox markers: [sandbox:fail], [sandbox:cancel], [sandbox:size=N].",
        required=required,
        min_length=min_length,
        max_length=max_length,
    )


_SEED = Param("seed", "integer", "Seed", hint="Fixes the randomness.", min=0, max=2_147_483_647, step=1)
_DURATION = Param("duration", "integer", "Duration (s)", default=5, min=4, max=12, step=1)
_RESOLUTION_MULTIPLIERS = {"480p": 1.0, "720p": 1.5}
_RESOLUTION = Param(
    "resolution", "string", "Resolution", default="720p", options=tuple(_RESOLUTION_MULTIPLIERS)
)
_VIDEO_PRICING = Pricing(
    billing_unit="second",
    minimum_credits=40,
    credits_base=10,
    multipliers={"resolution": _RESOLUTION_MULTIPLIERS},
    note="credits_base per second of video x the resolution multiplier; ask /estimate",
)
_TTS_LIMITS = (1, 5000)


def _video_price(values: Mapping[str, Any]) -> int:
    """Seedance: ``credits_base`` per second, times the resolution multiplier."""
    base = _VIDEO_PRICING.credits_base or 0
    return math.ceil(base * values["duration"] * _RESOLUTION_MULTIPLIERS[values["resolution"]])


def _tts_price(values: Mapping[str, Any]) -> int:
    """Speech: 2 credits per started 1,000 characters of prompt."""
    return max(2, 2 * math.ceil(len(values["prompt"]) / 1000))


_MODELS = (
    Model(
        slug="nano-banana-2",
        type="image",
        name="Nano Banana 2",
        description="Fast text-to-image generation.",
        capabilities=("text-to-image",),
        pricing=Pricing(credits=4, billing_unit="image", minimum_credits=4, note="4 credits per image"),
        params=(
            _prompt(5000),
            Param(
                "aspect_ratio",
                "string",
                "Aspect ratio",
                default="1:1",
                options=("1:1", "16:9", "9:16", "4:3", "3:4", "21:9"),
            ),
            Param("num_images", "integer", "Number of images", default=1, min=1, max=4, step=1),
            _SEED,
        ),
        groups=(
            ("prompt", "Prompt", ("prompt",)),
            ("output", "Output", ("aspect_ratio", "num_images")),
            ("advanced", "Advanced", ("seed",)),
        ),
        price=lambda values: 4 * values["num_images"],
    ),
    Model(
        slug="seedance-2-fast-t2v",
        type="video",
        name="Seedance 2 Fast (text to video)",
        description="Short video clips from a text prompt.",
        capabilities=("text-to-video",),
        pricing=_VIDEO_PRICING,
        params=(
            _prompt(2000),
            _DURATION,
            _RESOLUTION,
            Param("aspect_ratio", "string", "Aspect ratio", default="16:9", options=("16:9", "9:16", "1:1")),
            _SEED,
        ),
        groups=(
            ("prompt", "Prompt", ("prompt",)),
            ("output", "Output", ("duration", "resolution", "aspect_ratio")),
            ("advanced", "Advanced", ("seed",)),
        ),
        price=_video_price,
    ),
    Model(
        slug="seedance-2-fast-i2v",
        type="video",
        name="Seedance 2 Fast (image to video)",
        description="Animates a still image into a short video clip.",
        capabilities=("image-to-video",),
        pricing=_VIDEO_PRICING,
        params=(
            Param(
                "image_url",
                "string",
                "Image URL",
                hint="The first frame.",
                required=True,
                validation="url",
                max_length=2048,
            ),
            _prompt(2000, required=False, min_length=0),
            _DURATION,
            _RESOLUTION,
            _SEED,
        ),
        groups=(
            ("input", "Input", ("image_url", "prompt")),
            ("output", "Output", ("duration", "resolution")),
            ("advanced", "Advanced", ("seed",)),
        ),
        price=_video_price,
    ),
    Model(
        slug="gemini-3-1-flash-tts",
        type="audio",
        name="Gemini 3.1 Flash TTS",
        description="Text to speech.",
        capabilities=("text-to-speech",),
        pricing=Pricing(
            credits=2,
            billing_unit="characters",
            unit_size=1000,
            minimum_credits=2,
            note="2 credits per started 1,000 characters",
        ),
        params=(
            _prompt(_TTS_LIMITS[1], min_length=_TTS_LIMITS[0]),
            Param(
                "voice",
                "string",
                "Voice",
                default="Kore",
                options=("Kore", "Puck", "Charon", "Zephyr", "Aoede", "Fenrir"),
            ),
        ),
        groups=(("input", "Input", ("prompt", "voice")),),
        price=_tts_price,
        text_limits=_TTS_LIMITS,
    ),
    Model(
        slug="suno-music",
        type="audio",
        name="Suno Music",
        description="Songs from a text prompt; two tracks per generation.",
        capabilities=("text-to-music", "requires-subscription"),
        pricing=Pricing(
            credits=12,
            billing_unit="generation",
            minimum_credits=12,
            note="12 credits per generation (two tracks); needs an active subscription",
        ),
        params=(
            _prompt(3000),
            Param("instrumental", "boolean", "Instrumental", hint="No vocals.", default=False),
        ),
        groups=(("input", "Input", ("prompt", "instrumental")),),
        price=lambda values: 12,
        audio_tracks=2,
        requires_subscription=True,
    ),
    Model(
        slug="gpt-5.6-sol",
        type="text",
        name="GPT-5.6 Sol",
        description="Chat model, served by the OpenAI-compatible chat API (not by the queue).",
        capabilities=("chat",),
        pricing=Pricing(
            credits=1,
            billing_unit="tokens",
            unit_size=1000,
            minimum_credits=1,
            note="1 credit per 1,000 tokens; chat API only",
        ),
        params=(_prompt(100_000),),
        groups=(("input", "Input", ("prompt",)),),
        price=lambda values: 1,
    ),
)

_BY_SLUG: dict[str, Model] = {m.slug: m for m in _MODELS}
_ALL_DECLARED = frozenset().union(*(m.declared for m in _MODELS))


def get_model(slug: str) -> Model:
    """Return a model or raise ``404 model_not_found``."""
    model = _BY_SLUG.get(slug)
    if model is None:
        raise ClipiaError(404, "model_not_found", f"Unknown model {slug!r}; GET /v1/models lists them")
    return model


def queued_model(slug: str) -> Model:
    """Return a model the queue serves; text models answer ``400 invalid_request``."""
    model = get_model(slug)
    if not model.queued:
        raise ClipiaError(
            400,
            "invalid_request",
            f"{slug} is a text model served by the OpenAI-compatible chat API, not by the queue",
        )
    return model


def _warning(model: Model, key: str) -> dict[str, str]:
    """Return the warning for an input key ``model`` will not apply."""
    if key in _ALL_DECLARED:
        return {
            "code": "unsupported_parameter",
            "parameter": key,
            "message": f"{key} is not supported by {model.slug}; it was ignored",
        }
    return {
        "code": "unknown_parameter",
        "parameter": key,
        "message": f"{key} is not a parameter of {model.slug}; it was ignored",
    }


def resolve_input(model: Model, raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Validate ``raw`` input and return it with defaults applied, plus warnings for ignored keys.

    A ``null`` value counts as absent. Raises ``400 model_input_invalid`` on the first broken rule.
    """
    warnings = [_warning(model, key) for key in raw if key not in model.declared]
    values: dict[str, Any] = {}
    for param in model.params:
        value = raw.get(param.name)
        if value is None:
            if param.required:
                raise ClipiaError(400, "model_input_invalid", f"input.{param.name} is required")
            if param.default is not None:
                values[param.name] = param.default
            continue
        param.check(value)
        values[param.name] = value
    return values, warnings


def catalog_payload() -> dict[str, Any]:
    """Return the body of ``GET /v1/models``."""
    return {"object": "list", "data": [m.as_dict() for m in _MODELS]}
