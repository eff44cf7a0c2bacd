"""The catalog of Clipwise video formats and tools, taken from the seed's format table.

``GET formats/`` lists it and ``POST generations/`` validates against it. The ``example`` of each
entry uses seeded resource ids (see :mod:`.seed`), so every example a user copies from
``formats show`` runs unchanged against the sandbox.
"""

from __future__ import annotations

import shlex
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["format", "tool"]
Platform = Literal["clipwise", "video_company"]
#: what a finished job produces; the first entry is the job's primary output
OutputType = Literal["video", "image", "audio", "subtitles", "text"]


@dataclass(frozen=True)
class Format:
    """One video format or tool and the inputs it takes."""

    slug: str
    template_name: str
    display_name: str
    kind: Kind
    platform: Platform
    description: str
    what_it_does: str
    required_inputs: tuple[str, ...]
    optional_inputs: tuple[str, ...]
    #: resource types (see ``GET resource-types/``) whose assets the format can use
    resource_requirements: tuple[str, ...]
    output_types: tuple[OutputType, ...]
    #: generation parameters of the documented example (``format`` excluded)
    example: Mapping[str, Any]
    aliases: tuple[str, ...] = ()
    active: bool = True
    #: sub-modes and the format each one runs as (``inventory_shoot``)
    modes: Mapping[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """Stable id of the catalog entry."""
        return f"fmt_{self.slug}"

    @property
    def inputs(self) -> tuple[str, ...]:
        """Every parameter the format documents, required first."""
        return self.required_inputs + self.optional_inputs

    def compatibility_slugs(self) -> frozenset[str]:
        """Slugs an asset may name to count as compatible: the format and its mode targets."""
        return frozenset({self.slug, *self.modes.values()})

    def view(self) -> dict[str, Any]:
        """Return the public ``Format`` object."""
        view: dict[str, Any] = {
            "id": self.id,
            "slug": self.slug,
            "template_name": self.template_name,
            "display_name": self.display_name,
            "aliases": list(self.aliases),
            "kind": self.kind,
            "platform": self.platform,
            "active": self.active,
            "description": self.description,
            "what_it_does": self.what_it_does,
            "required_inputs": list(self.required_inputs),
            "optional_inputs": list(self.optional_inputs),
            "resource_requirements": list(self.resource_requirements),
            "output_types": list(self.output_types),
            "examples": [self._example_view()],
        }
        if self.modes:
            view["modes"] = dict(self.modes)
        return view

    def _example_view(self) -> dict[str, Any]:
        """Render the example as SDK parameters and as the equivalent CLI command."""
        flags = [f"--format {self.slug}"]
        for name, value in self.example.items():
            text = ",".join(value) if isinstance(value, list) else str(value)
            flags.append(f"--{name.replace('_', '-')} {shlex.quote(text)}")
        return {
            "title": f"{self.display_name} example",
            "params": {"format": self.slug, **self.example},
            "cli": " ".join(["clipwise generate", *flags, "--json"]),
        }


_UGC_SCRIPT = "I tried this serum for seven days and here is what changed..."

FORMATS: tuple[Format, ...] = (
    Format(
        slug="smart",
        template_name="ai_viral_videos",
        display_name="Smart Video",
        aliases=("ai_video", "prompt_to_video"),
        kind="format",
        platform="video_company",
        description="Prompt-to-video: a complete short-form video from one prompt.",
        what_it_does="Turns a prompt into a complete short-form video with script, scenes, visuals, "
        "voice, music, subtitles, and final render.",
        required_inputs=("prompt",),
        optional_inputs=(
            "language",
            "aspect_ratio",
            "duration",
            "tone",
            "style",
            "audience",
            "voice",
            "avatar",
            "logo",
        ),
        resource_requirements=(),
        output_types=("video",),
        example={"prompt": "Create a 30 second founder launch video for a new AI product"},
    ),
    Format(
        slug="business_videos",
        template_name="business_explainer",
        display_name="Business Videos",
        aliases=("business",),
        kind="format",
        platform="video_company",
        description="Business explainers and professional social videos.",
        what_it_does="Creates business explainers, sales education clips, and professional social videos "
        "from a prompt.",
        required_inputs=("prompt",),
        optional_inputs=("language", "audience", "tone", "style", "voice", "logo", "background_music"),
        resource_requirements=("voices", "generic_uploads", "background_music"),
        output_types=("video",),
        example={
            "prompt": "Explain our new invoicing workflow to finance teams",
            "voice": "res_voice_emma_en",
        },
    ),
    Format(
        slug="ecommerce_product_video",
        template_name="ecommerce_product",
        display_name="E-commerce Product Video",
        aliases=("product_video",),
        kind="format",
        platform="video_company",
        description="Product marketing videos from product details.",
        what_it_does="Creates product marketing videos from product details and optional product images.",
        required_inputs=("prompt",),
        optional_inputs=(
            "product_name",
            "product_description",
            "product_images",
            "language",
            "aspect_ratio",
            "voice",
            "logo",
        ),
        resource_requirements=("product_images", "voices", "generic_uploads"),
        output_types=("video",),
        example={
            "prompt": "Launch video for our vitamin C serum",
            "product_images": ["res_prodimg_serum_front"],
        },
    ),
    Format(
        slug="reddit_style",
        template_name="reddit_story",
        display_name="Reddit Style Video",
        aliases=("reddit",),
        kind="format",
        platform="video_company",
        description="Reddit-style narrated story videos.",
        what_it_does="Creates Reddit-style narration videos with story framing, generated visuals, "
        "and subtitles.",
        required_inputs=("prompt",),
        optional_inputs=("language", "duration", "voice", "background_music"),
        resource_requirements=("voices", "background_music"),
        output_types=("video",),
        example={"prompt": "AITA for bringing my own coffee to the office tasting?"},
    ),
    Format(
        slug="quiz",
        template_name="quiz_video",
        display_name="Quiz Video",
        aliases=("trivia",),
        kind="format",
        platform="video_company",
        description="Timed quiz videos with answer options.",
        what_it_does="Creates quiz videos with timed questions, answer options, visual beats, "
        "and quiz overlays.",
        required_inputs=("prompt",),
        optional_inputs=(
            "questions_count",
            "options_count",
            "language",
            "duration",
            "background_music",
            "overlay",
        ),
        resource_requirements=("background_music", "overlays"),
        output_types=("video",),
        example={
            "prompt": "Five questions about the solar system",
            "background_music": "res_music_upbeat_pop",
            "overlay": "res_overlay_quiz_timer",
        },
    ),
    Format(
        slug="dialogue_video",
        template_name="dialogue_storyboard",
        display_name="Dialogue Video",
        kind="format",
        platform="video_company",
        description="Character and dialogue-driven videos.",
        what_it_does="Creates character or dialogue-driven videos with storyboarded dialogue scenes.",
        required_inputs=("prompt",),
        optional_inputs=("language", "duration", "style", "character_consistency_prompts"),
        resource_requirements=("voices", "avatars"),
        output_types=("video",),
        example={"prompt": "A barista and a robot argue about the perfect espresso"},
    ),
    Format(
        slug="viral_dancing_video",
        template_name="viral_dance",
        display_name="Viral Dancing Video",
        aliases=("dance",),
        kind="format",
        platform="clipwise",
        description="An avatar dancing to a reference video.",
        what_it_does="Creates viral dancing videos with a selected avatar and reference video.",
        required_inputs=("avatar", "reference_video"),
        optional_inputs=("prompt",),
        resource_requirements=("avatars", "reference_videos"),
        output_types=("video",),
        example={"avatar": "res_avatar_kai_dancer", "reference_video": "res_refvid_dance_trend"},
    ),
    Format(
        slug="ugc_video",
        template_name="ugc_talking_head",
        display_name="UGC Video",
        aliases=("ugc", "ugc_ad"),
        kind="format",
        platform="clipwise",
        description="UGC-style talking-head ads from a script.",
        what_it_does="Creates UGC-style talking-head ads from a script and optional product, actor, voice, "
        "background, and pose.",
        required_inputs=("script",),
        optional_inputs=(
            "product_images",
            "product_type",
            "product_description",
            "avatar",
            "voice",
            "background_image",
            "pose",
            "generate_subtitle",
        ),
        resource_requirements=("product_images", "avatars", "voices", "background_images", "poses"),
        output_types=("video",),
        example={
            "script": _UGC_SCRIPT,
            "product_image": "res_prodimg_serum_front",
            "product_type": "skincare",
            "avatar": "res_avatar_ava",
            "voice": "res_voice_emma_en",
            "background_image": "res_bg_bathroom_counter",
            "reference_image": "res_pose_hand_hold",
        },
    ),
    Format(
        slug="ugc_actor_video",
        template_name="ugc_actor",
        display_name="UGC Actor Video",
        kind="format",
        platform="clipwise",
        description="Actor-led UGC videos.",
        what_it_does="Creates actor-led UGC videos where the selected actor/avatar is central.",
        required_inputs=("script",),
        optional_inputs=(
            "product_images",
            "avatar",
            "voice",
            "background_image",
            "pose",
            "directive_instructions",
        ),
        resource_requirements=("product_images", "avatars", "voices", "background_images", "poses"),
        output_types=("video",),
        example={"script": _UGC_SCRIPT, "avatar": "res_avatar_leo", "voice": "res_voice_lucas_en"},
    ),
    Format(
        slug="ugc_clone",
        template_name="ugc_clone_yourself",
        display_name="UGC Clone",
        kind="format",
        platform="clipwise",
        description="Clone-yourself UGC videos.",
        what_it_does="Creates clone-yourself UGC videos from the user's configured profile and a script.",
        required_inputs=("script",),
        optional_inputs=("directive_instructions", "language", "background_image", "generate_subtitle"),
        resource_requirements=("background_images",),
        output_types=("video",),
        example={"script": _UGC_SCRIPT, "background_image": "res_bg_office"},
    ),
    Format(
        slug="ugc_model_shoot",
        template_name="model_shoot_studio",
        display_name="UGC Model Shoot",
        kind="format",
        platform="clipwise",
        description="Model/product shoot images.",
        what_it_does="Generates model/product shoot assets by combining a product reference with an "
        "avatar/model, background, and pose reference.",
        required_inputs=("variations",),
        optional_inputs=(
            "product_image",
            "product_type",
            "product_description",
            "avatar",
            "background_image",
            "pose",
            "aspect_ratio",
        ),
        resource_requirements=("product_images", "avatars", "background_images", "poses"),
        output_types=("image",),
        example={
            "variations": 2,
            "product_image": "res_prodimg_sneaker",
            "avatar": "res_avatar_nia_model",
            "pose": "res_pose_standing",
        },
    ),
    Format(
        slug="ugc_product_background",
        template_name="product_background_studio",
        display_name="UGC Product Background",
        kind="format",
        platform="clipwise",
        description="Product shots placed into backgrounds.",
        what_it_does="Generates product shots by placing products into selected backgrounds and reference "
        "compositions.",
        required_inputs=("variations",),
        optional_inputs=(
            "product_image",
            "product_type",
            "product_description",
            "background_image",
            "reference_image",
            "pose",
            "aspect_ratio",
        ),
        resource_requirements=("product_images", "background_images", "poses"),
        output_types=("image",),
        example={
            "variations": 4,
            "product_image": "res_prodimg_serum_front",
            "background_image": "res_bg_bathroom_counter",
            "reference_image": "res_pose_flatlay",
        },
    ),
    Format(
        slug="inventory_shoot",
        template_name="inventory_shoot_studio",
        display_name="Inventory Shoot",
        aliases=("inventory",),
        kind="format",
        platform="clipwise",
        description="Product or model shoots; mode picks which.",
        what_it_does="Runs a product shoot (ugc_product_background) or a model shoot (ugc_model_shoot) "
        "chosen by mode; reference_image names a pose.",
        required_inputs=("mode", "variations"),
        optional_inputs=(
            "product_image",
            "product_type",
            "product_description",
            "avatar",
            "background_image",
            "reference_image",
            "pose",
            "aspect_ratio",
        ),
        resource_requirements=("product_images", "avatars", "background_images", "poses"),
        output_types=("image",),
        example={
            "mode": "product_shoot",
            "product_image": "res_prodimg_serum_front",
            "reference_image": "res_pose_flatlay",
            "variations": 4,
        },
        modes={"product_shoot": "ugc_product_background", "model_shoot": "ugc_model_shoot"},
    ),
    Format(
        slug="b_roll_video",
        template_name="b_roll_generator",
        display_name="B-Roll Video",
        aliases=("broll",),
        kind="format",
        platform="clipwise",
        description="B-roll situations for products, avatars and backgrounds.",
        what_it_does="Generates multiple b-roll situations and related video/image assets for products, "
        "avatars, and backgrounds.",
        required_inputs=("video_context", "product_type", "aspect_ratio"),
        optional_inputs=("product_images", "avatar", "background_image"),
        resource_requirements=("product_images", "avatars", "background_images"),
        output_types=("video", "image"),
        example={
            "video_context": "Morning skincare routine",
            "product_type": "skincare",
            "aspect_ratio": "9:16",
        },
    ),
    Format(
        slug="static_ad",
        template_name="static_ad_generator",
        display_name="Static Ad",
        aliases=("image_ad",),
        kind="format",
        platform="clipwise",
        description="Static ad images from a product.",
        what_it_does="Creates static ad images and posts from a product and optional reference ad layout.",
        required_inputs=("product_id", "ad_format"),
        optional_inputs=(
            "product_image_upload_id",
            "reference_ad_id",
            "language",
            "custom_instructions",
            "variations",
            "data",
        ),
        resource_requirements=("products", "product_images", "reference_ads"),
        output_types=("image",),
        example={"product_id": "prod_demo_serum", "ad_format": "instagram_square", "variations": 4},
    ),
    Format(
        slug="ad_replicate",
        template_name="ad_replicator",
        display_name="Ad Replicate",
        kind="format",
        platform="clipwise",
        description="Recreate a reference ad with another actor.",
        what_it_does="Recreates a reference video ad while swapping in a selected avatar or actor and "
        "optional voice.",
        required_inputs=("avatar", "reference_video"),
        optional_inputs=("voice", "directive_instructions", "background_source"),
        resource_requirements=("avatars", "reference_ads", "voices"),
        output_types=("video",),
        example={"avatar": "res_avatar_ava", "reference_video": "res_refad_video_hook"},
    ),
    Format(
        slug="avatar_lipsync",
        template_name="lipsync",
        display_name="Avatar Lipsync",
        aliases=("lipsync",),
        kind="format",
        platform="clipwise",
        description="An avatar lip-synced to audio.",
        what_it_does="Animates an avatar to lip-sync to uploaded or generated audio.",
        required_inputs=("avatar", "audio"),
        optional_inputs=("directive_instruction", "background_image"),
        resource_requirements=("avatars", "generic_uploads", "background_images"),
        output_types=("video",),
        example={"avatar": "res_avatar_ava", "audio": "upl_demo_audio"},
    ),
    Format(
        slug="image_to_video",
        template_name="image_animation",
        display_name="Image to Video",
        kind="tool",
        platform="video_company",
        description="A short motion clip from an image.",
        what_it_does="Converts a source image or generated image into a short motion clip.",
        required_inputs=("image", "prompt"),
        optional_inputs=("model", "duration", "resolution", "generate_audio"),
        resource_requirements=("generic_uploads", "generated_media"),
        output_types=("video",),
        example={"image": "upl_demo_image", "prompt": "Slow push-in on the bottle"},
    ),
    Format(
        slug="text_to_image",
        template_name="image_generation",
        display_name="Text to Image",
        kind="tool",
        platform="video_company",
        description="An image from a prompt.",
        what_it_does="Creates an image from a prompt and can use uploaded or generated images as references.",
        required_inputs=("prompt",),
        optional_inputs=("media_ids", "model", "resolution", "aspect_ratio"),
        resource_requirements=("generic_uploads", "generated_media"),
        output_types=("image",),
        example={"prompt": "A serum bottle on white marble, soft morning light"},
    ),
    Format(
        slug="text_to_audio",
        template_name="text_to_speech",
        display_name="Text to Audio",
        aliases=("tts",),
        kind="tool",
        platform="video_company",
        description="Spoken audio from a script.",
        what_it_does="Generates spoken audio from a script using a selected voice.",
        required_inputs=("script", "voice"),
        optional_inputs=(),
        resource_requirements=("voices",),
        output_types=("audio",),
        example={"script": "Welcome to the spring launch.", "voice": "res_voice_emma_en"},
    ),
    Format(
        slug="video_to_text",
        template_name="transcription",
        display_name="Video to Text",
        aliases=("transcribe",),
        kind="tool",
        platform="video_company",
        description="A transcript of a video.",
        what_it_does="Extracts transcript or script text from a video file, generated video, or URL.",
        required_inputs=("video",),
        optional_inputs=("url",),
        resource_requirements=("generic_uploads", "generated_media"),
        output_types=("text",),
        example={"video": "upl_demo_video"},
    ),
    Format(
        slug="generate_subtitle",
        template_name="subtitle_generator",
        display_name="Generate Subtitle",
        aliases=("subtitles", "captions"),
        kind="tool",
        platform="video_company",
        description="Subtitles for a video.",
        what_it_does="Generates subtitles or captions for a source video.",
        required_inputs=("video",),
        optional_inputs=("script", "subtitle_typography"),
        resource_requirements=("generic_uploads", "generated_media"),
        output_types=("subtitles",),
        example={"video": "upl_demo_video"},
    ),
    Format(
        slug="slideshow_video",
        template_name="slideshow",
        display_name="Slideshow Video",
        kind="format",
        platform="clipwise",
        active=False,
        description="Retired: image slideshows with music.",
        what_it_does="Turned a list of images into a slideshow video with music (retired; listed only with "
        "include_inactive=true).",
        required_inputs=("images",),
        optional_inputs=("background_music", "duration", "aspect_ratio"),
        resource_requirements=("generic_uploads", "background_music"),
        output_types=("video",),
        example={"images": ["upl_demo_image"]},
    ),
)


def _normalize(name: str) -> str:
    """Fold case, spaces and hyphens so ``"UGC Video"`` finds ``ugc_video``."""
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def _build_index(formats: Collection[Format]) -> dict[str, Format]:
    """Index every id, slug, template name, display name and alias; refuse ambiguous names.

    Also refuse modes that run as a format missing from the catalog, so a broken table fails
    at import instead of in a request.
    """
    index: dict[str, Format] = {}
    slugs = {entry.slug for entry in formats}
    for entry in formats:
        unknown_targets = set(entry.modes.values()) - slugs
        if unknown_targets:
            raise ValueError(f"modes of {entry.slug!r} run as unknown formats {sorted(unknown_targets)}")
        for name in (entry.id, entry.slug, entry.template_name, entry.display_name, *entry.aliases):
            key = _normalize(name)
            if index.setdefault(key, entry) is not entry:
                raise ValueError(f"format name {name!r} is ambiguous")
    return index


_INDEX = _build_index(FORMATS)
_BY_SLUG = {entry.slug: entry for entry in FORMATS}


def format_by_slug(slug: str) -> Format:
    """Return the entry with this exact slug (KeyError when absent)."""
    return _BY_SLUG[slug]


def find_format(name: str) -> Format | None:
    """Resolve a slug, template name, display name or alias (case-insensitive)."""
    return _INDEX.get(_normalize(name))


def list_formats(kind: str | None, platform: str | None, include_inactive: bool) -> list[Format]:
    """Return the catalog entries matching the ``GET formats/`` filters."""
    return [
        entry
        for entry in FORMATS
        if (include_inactive or entry.active)
        and (kind is None or entry.kind == kind)
        and (platform is None or entry.platform == platform)
    ]
