"""Training configuration dataclasses; YAML files in configs/ map one-to-one onto them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from patina.looks.references import HOLDOUT_EVERY
from patina.data import FACE_HOLDOUT_EVERY, STYLE_HOLDOUT_EVERY
from patina.evaluation.face_teacher import DEFAULT_CACHE, DEFAULT_TEACHER


@dataclass
class DataConfig:
    """Where clean training images come from and how crops are drawn."""

    roots: list[str] = field(default_factory=lambda: ["../shared/data/train"])
    crop: int = 192
    scale_range: tuple[float, float] = (0.6, 1.0)
    batch_size: int = 16
    workers: int = 4
    holdout_every: int = 40  # every n-th file is kept out of training and used for validation
    degradation: str = "train"  # a preset name from patina.degradations ("train" or "eval")
    degradation_overrides: dict[str, Any] = field(default_factory=dict)  # preset fields changed for this run
    hard_negatives: str | None = None  # a list of training photos to show more often (training.hard_negatives)
    p_hard_negative: float = 0.0  # share of samples cropped from those photos

    def __post_init__(self) -> None:
        if self.crop < 32 or self.crop % 16:
            raise ValueError(f"crop must be a multiple of 16 and >= 32, got {self.crop}")
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if not 0.0 <= self.p_hard_negative <= 1.0:
            raise ValueError(f"p_hard_negative must be in [0, 1], got {self.p_hard_negative}")
        if self.p_hard_negative and not self.hard_negatives:
            raise ValueError("p_hard_negative > 0 needs hard_negatives (a list file)")


@dataclass
class GanLossConfig:
    """The loss terms every paired GAN task has: pixel, perceptual (VGG teacher), adversarial, R1."""

    pixel: float = 1.0
    perceptual: float = 0.05
    adversarial: float = 0.005
    gan: Literal["bce", "lsgan", "hinge", "wgan"] = "hinge"
    r1: float = 0.0
    r1_every: int = 16
    gradient_penalty: float = 0.0  # WGAN-GP weight
    gan_start: int = 0  # steps of pure reconstruction before the adversarial terms switch on
    teacher: str | None = "../shared/weights/vgg19_relu3_1/vgg_normalised_conv3_1.pth"


@dataclass
class LossConfig(GanLossConfig):
    """Weights of each term of the restoration objectives."""

    ssim: float = 0.5
    frequency: float = 0.1
    feature_matching: float = 0.0
    mask: float = 1.0
    mask_pos_weight: float = 5.0  # BCE weight of damaged pixels (damage is rare); lower flags less


@dataclass
class OptimConfig:
    """Optimiser, schedule and stabilisers."""

    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.99)
    steps: int = 1000  # 0 exports the initial weights (init_from, converted where its scale differs)
    warmup: int = 100
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    amp: bool = True  # bf16/fp16 autocast on CUDA; bf16 on CPUs with native bf16 (core.device.fast_cpu_bf16)
    mask_dropout: float = 0.1  # fraction of samples whose generator sees an empty damage mask


@dataclass
class RunConfig:
    """What every training run has: name, seed, output, device, data, optimiser and its cadences."""

    name: str = "model"
    seed: int = 0
    out_dir: str = "runs/model"
    device: str = "auto"
    init_from: str | None = None
    data: DataConfig = field(default_factory=DataConfig)
    generator: dict[str, Any] = field(default_factory=dict)
    optim: OptimConfig = field(default_factory=OptimConfig)
    log_every: int = 50
    image_every: int = 500
    checkpoint_every: int = 500
    validate_every: int = 500


@dataclass
class RestoreTrainConfig(RunConfig):
    """Everything `patina train restore` needs; ``init_from`` is a folder with <name>.safetensors and
    damage-mask.safetensors to fine-tune from."""

    name: str = "restore"
    out_dir: str = "runs/restore"
    tone_model: str | None = None  # a trained restore-tone model, applied (frozen) before the generator
    train_generator: bool = True  # False: fine-tune the damage-mask net alone (the generator stays as initialised)
    mask_net: dict[str, Any] = field(default_factory=dict)
    discriminator: dict[str, Any] = field(default_factory=lambda: {"in_channels": 6})
    loss: LossConfig = field(default_factory=LossConfig)


@dataclass
class ToneLossConfig:
    """Weights of the tone-correction objective: the error of the corrected photo, of its chroma alone, and of each
    clean photo put through the correction to itself (a photo that needs none must come out as it went in).

    ``norm`` is how each error is measured: ``l1`` (absolute) or ``l2`` (squared). Where a thumbnail could be a
    faded photo or a good one, L1 learns the likelier of the two (often: no correction), L2 the mean of them (a
    partial correction, which costs less PSNR on average)."""

    pixel: float = 1.0
    chroma: float = 1.0
    passthrough: float = 0.0
    norm: Literal["l1", "l2"] = "l1"


@dataclass
class ToneTrainConfig(RunConfig):
    """Everything `patina train restore-tone` needs: the whole-photo tone and colour correction of restore.

    ``data.crop`` is the side of the photo thumbnails the loss compares (whole photos, squeezed square);
    the network itself sees them pooled to 64 x 64, as the pipeline's thumbnail.
    """

    name: str = "restore-tone"
    out_dir: str = "runs/restore-tone"
    data: DataConfig = field(default_factory=lambda: DataConfig(crop=128, batch_size=64, workers=0))
    p_grayscale: float = 0.4  # share of photos made black-and-white first (the target too)
    p_untouched: float = 0.15  # share of photos given no tone damage: the correction must leave them alone
    p_close_untouched: float = 0.0  # share of those shown as a close view (a quarter to half of each side): often
    # one colour fills it, as a red door fills a photo, and the correction must leave that alone too
    loss: ToneLossConfig = field(default_factory=ToneLossConfig)


@dataclass
class ColorizeLossConfig(GanLossConfig):
    """Weights of the colorization objective: L1 on chroma, perceptual on the colour image, adversarial, and
    for a classification generator the cross-entropy of its chroma bins."""

    adversarial: float = 0.01
    perceptual_downsample: int = 2  # the perceptual loss sees images average-pooled by this factor (6x cheaper at 2)
    classification: float = 1.0  # cross-entropy of the chroma bins (classification generators only)
    # semantic distillation (teacher: ``semantic_teacher``): the U-Net's 1/8 and 1/16 encoder features, through
    # 1x1 heads, to EfficientNet-Lite0's on the colour photo (standardised per channel), and a pooled head's
    # ImageNet class distribution to the teacher's (KL); heads are training-only, never exported
    semantic_features: float = 0.0
    semantic_classes: float = 0.0


@dataclass
class ColorizeTrainConfig(RunConfig):
    """Everything `patina train colorize` needs; ``init_from`` is a ColorizeGenerator .safetensors to
    fine-tune from (``data.degradation`` is not used); ``context_encoder`` gives a generator with
    ``context_widths`` its frozen encoder."""

    name: str = "colorize"
    out_dir: str = "runs/colorize"
    light_jitter: float = 1.0  # strength of the random fade / contrast / gamma applied to the input luminance
    min_colourfulness: float = 8.0  # training images less colourful than this (near gray, sepia) are left out
    # stylize model (registry name or .safetensors) whose distilled encoder becomes the generator's frozen
    # context (generator.context_widths); loaded after init_from
    context_encoder: str | None = None
    # semantic encoder .safetensors (`patina train semantic-encoder`) copied into the generator's frozen
    # ``semantic`` (generator.semantic_width, which must match its width); loaded after init_from
    semantic_encoder: str | None = None
    # the semantic encoder trains with the rest of the generator (its batch norms' statistics stay as they are)
    train_semantic_encoder: bool = False
    # the EfficientNet-Lite0 classifier whose features and classes loss.semantic_* distil (a teacher: not shipped)
    semantic_teacher: str = "../shared/weights/teachers/efficientnet_lite0/efficientnet_lite0_imagenet.safetensors"
    discriminator: dict[str, Any] = field(default_factory=lambda: {"in_channels": 3, "width": 48})
    loss: ColorizeLossConfig = field(default_factory=ColorizeLossConfig)


@dataclass
class SemanticLossConfig:
    """Weights of the semantic encoder's distillation: the teacher's standardised feature maps (MSE) and its
    ImageNet class distribution (KL)."""

    features: float = 1.0
    classes: float = 0.1


@dataclass
class SemanticEncoderTrainConfig(RunConfig):
    """Everything `patina train semantic-encoder` needs: the colour photos (the colorizer's split: same
    ``min_colourfulness`` and ``data.holdout_every``), the EfficientNet-Lite0 teacher, the input fade."""

    name: str = "semantic-encoder"
    out_dir: str = "runs/semantic-encoder"
    teacher: str = "../shared/weights/teachers/efficientnet_lite0/efficientnet_lite0_imagenet.safetensors"
    light_jitter: float = 1.0  # the colorizer's random fade of the input luminance
    min_colourfulness: float = 8.0
    loss: SemanticLossConfig = field(default_factory=SemanticLossConfig)


@dataclass
class UpscaleLossConfig(GanLossConfig):
    """Weights of the super-resolution objective: L1 (on the sharpened target), perceptual, adversarial.

    A fidelity model sets ``perceptual`` and ``adversarial`` to 0 and trains on L1 alone, without a D. In a
    distillation run ``pixel``, ``ssim`` and ``perceptual`` compare with the ground truth of the samples that have
    one, the ``teacher_*`` terms with the teachers' output.
    """

    perceptual: float = 0.05
    adversarial: float = 0.05
    teacher_pixel: float = 0.0  # L1 to the teachers' output (distillation, with a ``teachers`` section)
    teacher_perceptual: float = 0.0  # the VGG perceptual distance to the teachers' output
    teacher_ssim: float = 0.0  # SSIM loss to the teachers' output (their local contrast and structure; cheap)
    ssim: float = 0.0  # distillation: SSIM loss to the ground truth, for the samples that have one
    perceptual_crop: int = 0  # distillation: the perceptual terms see one random square of this side per sample
    # (0: all of it); VGG over whole 192 px outputs costs about 6 s a step on a 2-core CPU, over 96 px a quarter


@dataclass
class DistillConfig:
    """The ``teachers`` section of a distillation run: x4 upscalers from outside the project whose (mean)
    output the student learns, on ``crops`` cached samples of ``input_size`` pixels square, ``real_share``
    of them real photos without ground truth (see :mod:`patina.training.teacher_cache`). Outputs are cached
    in ``cache``, outside the repository; ``val_crops`` more, of held-out photos, measure the student.
    ``detail_power`` > 0 draws the training samples with probability proportional to their detail (the mean
    gradient of the teachers' output) to that power, so edges and structure are seen more often than flat sky
    (0: every sample equally often)."""

    files: list[str] = field(default_factory=lambda: [
        "../shared/weights/teachers/realesr_general_x4v3/realesr-general-x4v3.safetensors"])
    cache: str = "~/.cache/patina/teachers"
    crops: int = 4096
    val_crops: int = 32
    input_size: int = 48
    real_share: float = 0.3
    detail_power: float = 0.0

    def __post_init__(self) -> None:
        if not self.files:
            raise ValueError("teachers.files must name at least one teacher")
        if not 0.0 <= self.detail_power <= 4.0:
            raise ValueError(f"teachers.detail_power must be in [0, 4], got {self.detail_power}")
        if self.crops < 1 or self.val_crops < 1 or self.input_size < 16:
            raise ValueError("teachers.crops and val_crops must be >= 1, input_size >= 16")
        if not 0.0 <= self.real_share <= 1.0:
            raise ValueError(f"teachers.real_share must be in [0, 1], got {self.real_share}")


@dataclass
class UpscaleTrainConfig(RunConfig):
    """Everything `patina train upscale` needs. ``data.crop`` is the high-resolution crop (the input is
    ``crop / scale``); ``degradation`` is 'bicubic' (the benchmark protocol's MATLAB resize) or
    'realesrgan' (second-order blur / resize / noise / JPEG); ``init_from`` a .safetensors of ``arch``.
    With ``teachers`` the samples come from the teacher cache instead (``data.crop`` is then unused)."""

    name: str = "upscale-x4"
    out_dir: str = "runs/upscale-x4"
    scale: int = 4
    arch: str = "CompactUpscaler"
    degradation: Literal["bicubic", "realesrgan"] = "realesrgan"
    sharpen_target: bool = True  # Real-ESRGAN's unsharp-masked targets for the L1 and perceptual losses
    discriminator: dict[str, Any] = field(default_factory=lambda: {"width": 64})
    loss: UpscaleLossConfig = field(default_factory=UpscaleLossConfig)
    teachers: DistillConfig | None = None  # a distillation run: the student learns these networks' output

    def __post_init__(self) -> None:
        if self.scale not in (2, 3, 4):
            raise ValueError(f"scale must be 2, 3 or 4, got {self.scale}")
        if self.data.crop % (self.scale * 8):
            raise ValueError(f"data.crop must be a multiple of 8 x scale ({self.scale * 8}), got {self.data.crop}")


@dataclass
class RetroLossConfig(GanLossConfig):
    """Weights of the retro objective: low-pass L1 and luminance SSIM to the era's base look (content),
    and the adversarial loss against real old photographs of the era's group."""

    pixel: float = 1.0
    ssim: float = 0.1
    content_sigma: float = 1.5  # pixels: the L1 compares the images blurred by this much, so fine texture is free
    adversarial: float = 0.05
    diff_augment: bool = True  # random colour / translation / cutout on D's real and generated inputs
    perceptual: float = 0.0
    teacher: str | None = None


@dataclass
class RetroTrainConfig(RunConfig):
    """Everything `patina train retro` needs: modern photos (``data.roots``) are given a random era's base
    look, and real old photographs (``real_roots``, sorted into toned / neutral / colour groups) teach the
    discriminator; every ``real_holdout_every``-th photo of each group is held out for `patina eval retro`."""

    name: str = "retro"
    out_dir: str = "runs/retro"
    real_roots: list[str] = field(default_factory=lambda: ["../shared/data/old_photos"])
    real_holdout_every: int = HOLDOUT_EVERY  # `patina eval retro` holds out the same photos
    real_side: int = 480  # real photos are shrunk to this long side (modern training photos are about this size)
    photo_scale: float = 0.45  # the look's pixel scale for training crops (photos of about 450 px long side)
    discriminator: dict[str, Any] = field(default_factory=lambda: {"width": 32})
    loss: RetroLossConfig = field(default_factory=RetroLossConfig)


@dataclass
class EncoderDistillConfig(RunConfig):
    """Everything `patina train stylize-encoder` needs: photos whose crops the student sees, the teacher, and
    the weight of the feature-statistics term (channel mean / std, what AdaIN fuses) next to feature MSE."""

    name: str = "stylize-encoder"
    out_dir: str = "runs/stylize-encoder"
    teacher: str = "../shared/weights/vgg19_relu3_1/vgg_normalised_conv3_1.pth"
    statistics_weight: float = 1.0
    colour_jitter: float = 0.5  # random saturation / contrast changes, so paintings' palettes are covered too


@dataclass
class StylizeLossConfig(GanLossConfig):
    """Weights of the decoder's objective, all measured with the teacher: content (relu3_1 relative error to
    the content photo), style as channel mean / std (AdaIN) and as Gram matrices (Gatys), and the hinge
    adversarial loss of a discriminator that compares the output with another crop of the same style image."""

    content: float = 1.0
    statistics: float = 2.0
    gram: float = 2.0
    adversarial: float = 0.05
    gan_start: int = 300
    diff_augment: bool = True
    pixel: float = 0.0
    perceptual: float = 0.0


@dataclass
class StylizeTrainConfig(RunConfig):
    """Everything `patina train stylize` needs: the distilled encoder (frozen), content photos
    (``data.roots``), style images (``style_roots``; about one artwork in ``style_holdout_every`` is held
    out for `patina eval stylize`), the teacher, and the share of steps fused by WCT instead of AdaIN;
    ``init_from`` a StyleTransferNet .safetensors whose decoder to start from."""

    name: str = "stylize"
    out_dir: str = "runs/stylize"
    encoder: str = "runs/stylize-encoder/export/stylize-encoder.safetensors"
    teacher: str = "../shared/weights/vgg19_relu3_1/vgg_normalised_conv3_1.pth"
    style_roots: list[str] = field(default_factory=lambda: ["../shared/data/style/adain/style",
                                                            "../shared/data/style/pytorch_fast_neural_style/style"])
    style_holdout_every: int = STYLE_HOLDOUT_EVERY
    style_side: int = 512  # style images are shrunk to this long side before cropping
    wct_fraction: float = 0.25
    discriminator: dict[str, Any] = field(default_factory=lambda: {"in_channels": 6, "width": 32})
    loss: StylizeLossConfig = field(default_factory=StylizeLossConfig)


@dataclass
class FaceDetectorLossConfig:
    """Weights of the face detector's objective: focal loss of the cells' face scores, GIoU of the boxes and
    L1 of the landmarks (relative to the face's size) on the cells that hold a face; and the same three
    against the teacher's answer at every cell of the clean crop (``soft_*``: distillation; any of them not
    zero runs the teacher on every crop)."""

    score: float = 1.0
    box: float = 2.0
    landmarks: float = 1.0
    soft_score: float = 0.0
    soft_box: float = 0.0
    soft_landmarks: float = 0.0

    @property
    def distils(self) -> bool:
        """Whether the teacher's dense answers are needed."""
        return bool(self.soft_score or self.soft_box or self.soft_landmarks)


@dataclass
class FaceRunConfig(RunConfig):
    """What both face models' runs have: the teacher that labels the photos and where its labels are cached."""

    teacher: str = DEFAULT_TEACHER
    teacher_cache: str = DEFAULT_CACHE


@dataclass
class FaceDetectorTrainConfig(FaceRunConfig):
    """Everything `patina train face-detector` needs: photos (``data.roots``; one in ``data.holdout_every`` held
    out), the teacher that labels them (its faces cached under ``teacher_cache``), the crops' scale (the
    photo's long side is ``side_range`` times ``data.crop``), the share of crops drawn from photos with faces
    and the share aged by the degradation chain (``data.degradation`` + ``data.degradation_overrides``)."""

    name: str = "face-detector"
    out_dir: str = "runs/face-detector"
    data: DataConfig = field(default_factory=lambda: DataConfig(crop=256, batch_size=16, workers=2,
                                                                holdout_every=FACE_HOLDOUT_EVERY))
    side_range: tuple[float, float] = (0.5, 3.0)
    p_face: float = 0.7
    p_aged: float = 0.8
    validate_photos: int = 120  # held-out photos scored (clean and aged) at each validation
    loss: FaceDetectorLossConfig = field(default_factory=FaceDetectorLossConfig)


@dataclass
class FaceVerifierLossConfig:
    """Weights of the verifier's objective: binary cross-entropy of 'a face' on each candidate's patch, and (a
    verifier that corrects boxes) L1 of the box correction on the face patches."""

    verify: float = 1.0
    box: float = 0.0


@dataclass
class FaceVerifierTrainConfig(FaceRunConfig):
    """Everything `patina train face-verifier` needs: the trained face detector (``init_from``) whose candidates
    (its score at least ``candidate_threshold``) the verifier learns to accept or reject, the photos they are
    mined from (the detector's training photos, the calibration ones left out) as they are and in
    ``aged_copies`` aged copies, ``jittered`` extra patches per teacher face (its box moved a little), the
    share of face patches per batch, the verifier's widths and whether it corrects the candidates' boxes
    (``verifier_boxes``, trained by ``loss.box``); ``verify_mirrored``: the exported cascade also reads each patch
    mirrored and averages the two answers. With ``doubtful_faces`` the candidates on the teacher's doubtful faces
    are mined too, their target its score between the doubtful and the face score (else they are left out), and
    drawn ``p_doubtful`` of the time (0: as the others are). ``data.crop`` is the side of the verifier's patch
    (48 px by default, as every verifier before stage 10 read). Mined patches are cached in ``patch_cache``."""

    name: str = "face-detector"
    out_dir: str = "runs/face-verifier"
    data: DataConfig = field(default_factory=lambda: DataConfig(crop=48, batch_size=128, workers=2,
                                                                holdout_every=FACE_HOLDOUT_EVERY))
    verifier: tuple[int, ...] = (16, 32, 48, 64, 96)
    verifier_boxes: bool = False
    verify_mirrored: bool = False
    doubtful_faces: bool = False
    candidate_threshold: float = 0.15
    aged_copies: int = 2
    jittered: int = 1
    p_face: float = 0.5
    p_doubtful: float = 0.0
    patch_cache: str = "~/.cache/patina/face-patches"
    validate_photos: int = 120
    loss: FaceVerifierLossConfig = field(default_factory=FaceVerifierLossConfig)


@dataclass
class FaceRestoreLossConfig(GanLossConfig):
    """Weights of the face restoration objective: the paired GAN terms, SSIM, the low frequencies (L1 of 8x
    average-pooled crops: tone and shape kept) and landmark consistency (L1 between the frozen face detector's
    outputs on the restored and the clean crop; needs ``landmark_model``)."""

    perceptual: float = 0.1
    adversarial: float = 0.01
    ssim: float = 0.5
    low_frequency: float = 1.0
    landmarks: float = 0.0


@dataclass
class FaceRestoreTrainConfig(FaceRunConfig):
    """Everything `patina train face-restore` needs: photos labelled by the teacher (as the face detector's,
    the same photos held out), the faces used (at least ``min_face`` px, so their aligned ``data.crop`` crops
    are sharp), the landmarks' jitter, the degradation chain, the discriminator, an optional trained face
    detector for the landmark-consistency term and, for a conditioned face model, the restore model whose
    output it corrects."""

    name: str = "face-restore"
    out_dir: str = "runs/face-restore"
    data: DataConfig = field(default_factory=lambda: DataConfig(crop=128, batch_size=16, workers=2,
                                                                holdout_every=FACE_HOLDOUT_EVERY))
    min_face: float = 96.0
    jitter: float = 0.04
    landmark_model: str | None = None  # a trained face-detector .safetensors (frozen), for loss.landmarks
    # condition: the general restore model (registered name or file) a conditioned face model
    # (generator.conditioned) corrects; its crops are made once, from whole photos aged `variants` times and
    # restored by it, and kept under `crops_cache`
    condition: str | None = None
    variants: int = 3
    # tone_matched (conditioned models): the losses see the crop as the face stage pastes it, its tone and colour
    # replaced by the restoration's (match_tone), so the model spends itself on the detail that is kept
    tone_matched: bool = False
    crops_cache: str = "~/.cache/patina/face-crops"
    discriminator: dict[str, Any] = field(default_factory=lambda: {"in_channels": 6, "width": 48})
    loss: FaceRestoreLossConfig = field(default_factory=FaceRestoreLossConfig)
