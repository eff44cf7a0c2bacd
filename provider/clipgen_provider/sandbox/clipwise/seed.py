"""Resource types and the shared, read-only catalog assets every token sees.

The ids are stable so example DAGs and the format examples of :mod:`.catalog` can name them.
An item with ``compatible=None`` is compatible with every format that takes its resource type
(computed in :mod:`.assets`); an explicit tuple narrows it, which is how the sandbox rejects,
say, a presenter avatar for ``viral_dancing_video``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ResourceType:
    """One entry of ``GET resource-types/``."""

    name: str
    description: str
    #: id prefix of records created in this type
    prefix: str = "res"
    uploadable: bool = True
    generatable: bool = False
    #: list filters (besides ``video_format``) that mean something for this type
    filters: tuple[str, ...] = ("file_type",)

    def view(self) -> dict[str, Any]:
        """Return the public description of the type."""
        return {
            "type": self.name,
            "description": self.description,
            "supports_upload": self.uploadable,
            "supports_generate": self.generatable,
            "filters": ["video_format", *self.filters],
        }


RESOURCE_TYPES: dict[str, ResourceType] = {
    entry.name: entry
    for entry in (
        ResourceType(
            "avatars",
            "Curated, uploaded, and generated presenter/avatar assets.",
            generatable=True,
            filters=("collection", "file_type"),
        ),
        ResourceType(
            "voices", "Voice catalog and cloned user voices (clone = upload).", filters=("file_type",)
        ),
        ResourceType(
            "background_music",
            "Background music catalog and user uploaded tracks.",
            filters=("collection", "file_type"),
        ),
        ResourceType(
            "overlays", "Overlay and underlay video assets.", filters=("type", "collection", "file_type")
        ),
        ResourceType(
            "templates", "Clipwise layout/style templates.", uploadable=False, filters=("collection",)
        ),
        ResourceType(
            "background_images",
            "Curated, uploaded, and generated backgrounds.",
            generatable=True,
            filters=("collection", "file_type"),
        ),
        ResourceType(
            "poses", "Pose/reference images, including inventory-shoot references.", filters=("collection",)
        ),
        ResourceType(
            "products",
            "User product records and product image collections (create them with products/).",
            prefix="prod",
            uploadable=False,
            filters=("product_type",),
        ),
        ResourceType("product_images", "Uploaded product references.", filters=("product_type", "file_type")),
        ResourceType(
            "generic_uploads",
            "User uploaded image, video, and audio files.",
            prefix="upl",
            filters=("file_type",),
        ),
        ResourceType("reference_ads", "Reference ad images and videos.", filters=("type", "file_type")),
        ResourceType(
            "reference_videos", "Motion reference videos for viral dancing.", filters=("file_type",)
        ),
        ResourceType(
            "generated_media",
            "Generated image, video, and audio history (completed generations land here).",
            prefix="med",
            uploadable=False,
            filters=("file_type",),
        ),
    )
}


@dataclass(frozen=True)
class SeedItem:
    """A catalog asset: id, type, name, public fields and optional explicit compatibility."""

    id: str
    type: str
    display_name: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    compatible: tuple[str, ...] | None = None


_PRESENTER = (
    "ugc_video",
    "ugc_actor_video",
    "avatar_lipsync",
    "ad_replicate",
    "b_roll_video",
    "smart",
    "dialogue_video",
)
_TEMPLATE_FORMATS = ("smart", "business_videos", "ecommerce_product_video", "reddit_style", "quiz")
_IMAGE = {"file_type": "image"}
_VIDEO = {"file_type": "video"}
_AUDIO = {"file_type": "audio"}

SEED_ITEMS: tuple[SeedItem, ...] = (
    # avatars
    SeedItem(
        "res_avatar_ava",
        "avatars",
        "Ava (studio presenter)",
        {**_IMAGE, "collection": "studio", "gender": "female"},
        _PRESENTER,
    ),
    SeedItem(
        "res_avatar_leo",
        "avatars",
        "Leo (outdoor presenter)",
        {**_IMAGE, "collection": "outdoor", "gender": "male"},
        _PRESENTER,
    ),
    SeedItem(
        "res_avatar_sam",
        "avatars",
        "Sam (desk presenter)",
        {**_IMAGE, "collection": "studio", "gender": "male"},
        ("ugc_video", "ugc_actor_video", "avatar_lipsync", "smart", "dialogue_video"),
    ),
    SeedItem(
        "res_avatar_kai_dancer",
        "avatars",
        "Kai (dancer)",
        {**_IMAGE, "collection": "dance", "gender": "male"},
        ("viral_dancing_video",),
    ),
    SeedItem(
        "res_avatar_nia_model",
        "avatars",
        "Nia (fashion model)",
        {**_IMAGE, "collection": "fashion", "gender": "female"},
        ("ugc_model_shoot", "b_roll_video"),
    ),
    # voices
    SeedItem(
        "res_voice_emma_en",
        "voices",
        "Emma (warm, English)",
        {**_AUDIO, "language": "en", "gender": "female"},
    ),
    SeedItem(
        "res_voice_lucas_en",
        "voices",
        "Lucas (upbeat, English)",
        {**_AUDIO, "language": "en", "gender": "male"},
    ),
    SeedItem(
        "res_voice_sofia_es", "voices", "Sofia (Spanish)", {**_AUDIO, "language": "es", "gender": "female"}
    ),
    SeedItem(
        "res_voice_hana_ja", "voices", "Hana (Japanese)", {**_AUDIO, "language": "ja", "gender": "female"}
    ),
    # background music
    SeedItem("res_music_upbeat_pop", "background_music", "Upbeat pop", {**_AUDIO, "collection": "upbeat"}),
    SeedItem("res_music_calm_piano", "background_music", "Calm piano", {**_AUDIO, "collection": "calm"}),
    SeedItem("res_music_lofi_beats", "background_music", "Lo-fi beats", {**_AUDIO, "collection": "chill"}),
    # overlays
    SeedItem(
        "res_overlay_confetti",
        "overlays",
        "Confetti burst",
        {**_VIDEO, "type": "overlay", "collection": "celebration"},
    ),
    SeedItem(
        "res_overlay_quiz_timer",
        "overlays",
        "Quiz countdown timer",
        {**_VIDEO, "type": "overlay", "collection": "quiz"},
    ),
    SeedItem(
        "res_underlay_paper",
        "overlays",
        "Paper texture underlay",
        {**_VIDEO, "type": "underlay", "collection": "texture"},
    ),
    # templates
    SeedItem(
        "res_template_minimal", "templates", "Minimal", {**_IMAGE, "collection": "minimal"}, _TEMPLATE_FORMATS
    ),
    SeedItem(
        "res_template_bold_captions",
        "templates",
        "Bold captions",
        {**_IMAGE, "collection": "bold"},
        _TEMPLATE_FORMATS,
    ),
    SeedItem(
        "res_template_podcast",
        "templates",
        "Podcast split screen",
        {**_IMAGE, "collection": "podcast"},
        ("business_videos", "dialogue_video"),
    ),
    # background images
    SeedItem(
        "res_bg_bathroom_counter",
        "background_images",
        "Bathroom counter",
        {**_IMAGE, "collection": "home"},
        (
            "ugc_video",
            "ugc_actor_video",
            "ugc_clone",
            "ugc_product_background",
            "avatar_lipsync",
            "b_roll_video",
        ),
    ),
    SeedItem(
        "res_bg_modern_kitchen",
        "background_images",
        "Modern kitchen",
        {**_IMAGE, "collection": "home"},
        ("ugc_video", "ugc_actor_video", "ugc_clone", "ugc_model_shoot", "avatar_lipsync", "b_roll_video"),
    ),
    SeedItem(
        "res_bg_office",
        "background_images",
        "Open office",
        {**_IMAGE, "collection": "work"},
        ("ugc_video", "ugc_actor_video", "ugc_clone", "avatar_lipsync"),
    ),
    SeedItem(
        "res_bg_studio_white",
        "background_images",
        "White studio sweep",
        {**_IMAGE, "collection": "studio"},
        ("ugc_model_shoot", "ugc_product_background", "b_roll_video"),
    ),
    # poses
    SeedItem(
        "res_pose_flatlay",
        "poses",
        "Product flat lay",
        {**_IMAGE, "collection": "product"},
        ("ugc_product_background",),
    ),
    SeedItem(
        "res_pose_hand_hold",
        "poses",
        "Hand holding product",
        {**_IMAGE, "collection": "product"},
        ("ugc_product_background", "ugc_video", "ugc_actor_video"),
    ),
    SeedItem(
        "res_pose_standing",
        "poses",
        "Standing, three quarter",
        {**_IMAGE, "collection": "model"},
        ("ugc_model_shoot", "ugc_video", "ugc_actor_video"),
    ),
    SeedItem(
        "res_pose_sitting",
        "poses",
        "Sitting on a stool",
        {**_IMAGE, "collection": "model"},
        ("ugc_model_shoot", "ugc_video", "ugc_actor_video"),
    ),
    # products and product images
    SeedItem(
        "prod_demo_serum",
        "products",
        "Vitamin C Serum",
        {
            "name": "Vitamin C Serum",
            "product_type": "skincare",
            "url": "https://example.com/serum",
            "description": "Brightening vitamin C face serum, 30 ml.",
            "image_ids": ["res_prodimg_serum_front", "res_prodimg_serum_side"],
        },
    ),
    SeedItem(
        "prod_demo_sneaker",
        "products",
        "Trail Sneaker",
        {
            "name": "Trail Sneaker",
            "product_type": "footwear",
            "url": "https://example.com/sneaker",
            "description": "Lightweight trail running shoe.",
            "image_ids": ["res_prodimg_sneaker"],
        },
    ),
    SeedItem(
        "res_prodimg_serum_front", "product_images", "Serum, front", {**_IMAGE, "product_type": "skincare"}
    ),
    SeedItem(
        "res_prodimg_serum_side", "product_images", "Serum, side", {**_IMAGE, "product_type": "skincare"}
    ),
    SeedItem(
        "res_prodimg_sneaker", "product_images", "Trail sneaker", {**_IMAGE, "product_type": "footwear"}
    ),
    # generic uploads
    SeedItem("upl_demo_image", "generic_uploads", "demo-image.png", {**_IMAGE, "purpose": "image"}),
    SeedItem("upl_demo_video", "generic_uploads", "demo-video.mp4", {**_VIDEO, "purpose": "video"}),
    SeedItem("upl_demo_audio", "generic_uploads", "demo-voiceover.mp3", {**_AUDIO, "purpose": "audio"}),
    # reference ads and reference videos
    SeedItem("res_refad_video_hook", "reference_ads", "Hook-first video ad", {**_VIDEO, "type": "video"}),
    SeedItem(
        "res_refad_video_testimonial", "reference_ads", "Testimonial video ad", {**_VIDEO, "type": "video"}
    ),
    SeedItem("res_refad_static_square", "reference_ads", "Square static ad", {**_IMAGE, "type": "image"}),
    SeedItem("res_refvid_dance_trend", "reference_videos", "Trending dance", _VIDEO),
    SeedItem("res_refvid_shuffle", "reference_videos", "Shuffle steps", _VIDEO),
    # generated media
    SeedItem("med_demo_video", "generated_media", "Demo render", {**_VIDEO, "format": "smart"}),
    SeedItem("med_demo_image", "generated_media", "Demo still", {**_IMAGE, "format": "text_to_image"}),
)
