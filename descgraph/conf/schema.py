"""The pydantic schemas of an experiment conf. Every section refuses unknown keys.

Every field has a default and a one-line description, so a conf only says what differs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    SerializeAsAny,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from descgraph._registry import Registry, close_matches, load_conf_plugins
from descgraph.desc.genotype import DARTS_PRIMITIVES
from descgraph.desc.size import SizeLimits
from descgraph.errors import RegistryError

DEFAULT_ALGO = "darts"
STAGE_DATA_PARTS = ("model_desc", "loader")  # the stage sections that hold a `dataset`
# Ranges of the numeric fields: far above any network or run this project makes, far below what hangs or
# overflows (a seed numpy cannot take, a 100,000-pixel image, a thousand loader processes).
MAX_CLASSES, MAX_CHANNELS, MAX_IMAGE_SIZE, MAX_IMAGES = 100_000, 65_536, 4096, 10_000_000
MAX_CELLS, MAX_NODES, MAX_BATCH, MAX_EPOCHS = 1000, 32, 65_536, 100_000
MAX_CELL_NODES = 2048  # cells x nodes: a supernet of every edge is built in seconds, not hours
MAX_WORKERS, MAX_THREADS, MAX_SHARDS = 256, 1024, 4096
# elastic choices: upper bounds here, the rest is the elastic builder's check (one line naming the stage)
Depth = Annotated[int, Field(le=MAX_CELLS)]
Kernel = Annotated[int, Field(le=31)]
Ratio = Annotated[int, Field(le=64)]
Multiplier = Annotated[float, Field(le=64)]


class ConfModel(BaseModel):
    """Base of every conf section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class DatasetConf(ConfModel):
    name: str = Field("cifar10", description="registered dataset provider")
    n_classes: int = Field(10, ge=1, le=MAX_CLASSES, description="number of classes")
    channels: int = Field(3, ge=1, le=MAX_CHANNELS, description="image channels")
    image_size: int = Field(32, ge=1, le=MAX_IMAGE_SIZE, description="height and width of the images the model sees")
    dataroot: str = Field("~/dataroot", description="folder holding one folder per dataset")
    storage_name: str = Field("", description="folder name of the dataset inside dataroot")
    max_batches: int = Field(-1, ge=-1, description="if >= 0, only this many batches per epoch (toy runs)")
    download: bool = Field(True, description="download a missing dataset when the network allows")
    synthetic_train_size: int = Field(512, ge=1, le=MAX_IMAGES, description="training images of the synthetic dataset")
    synthetic_test_size: int = Field(128, ge=1, le=MAX_IMAGES, description="test images of the synthetic dataset")


class ModelStemsConf(ConfModel):
    ops: list[str] = Field(default_factory=lambda: ["stem_conv3x3"], description="one or two model stem ops")
    init_node_ch: int = Field(16, ge=1, le=MAX_CHANNELS, description="channels of the nodes in the first cell")
    stem_multiplier: int = Field(3, ge=1, le=64, description="model stem output channels = init_node_ch * this")


class CellConf(ConfModel):
    n_nodes: int = Field(4, ge=1, le=MAX_NODES, description="nodes per cell")
    cell_post_op: str = Field("concate_channels", description="op that combines the cell's output states")


class ElasticStageConf(ConfModel):
    channels: int = Field(16, ge=1, le=MAX_CHANNELS, description="output channels at width multiplier 1")
    stride: int = Field(1, ge=1, le=2, description="stride of the stage's first block")
    depths: list[Depth] = Field(default_factory=list, description="allowed block counts (empty: elastic_depths)")
    width_multipliers: list[Multiplier] = Field(
        default_factory=list, description="allowed width multipliers (empty: elastic_width_multipliers)"
    )
    kernel_sizes: list[Kernel] = Field(
        default_factory=list, description="allowed kernels (empty: elastic_kernel_sizes)"
    )
    expansion_ratios: list[Ratio] = Field(
        default_factory=list, description="allowed expansion ratios (empty: elastic_expansion_ratios)"
    )
    se: bool = Field(False, description="squeeze-excite in the stage's blocks")
    act: Literal["relu", "hswish", "swish"] = Field("relu", description="activation of the stage's blocks")


class ElasticSpaceConf(ConfModel):
    stem_channels: int = Field(16, ge=1, le=MAX_CHANNELS, description="channels of the 3x3 conv stem")
    stem_stride: int = Field(2, ge=1, le=2, description="stride of the stem")
    stem_act: Literal["relu", "hswish", "swish"] = Field("relu", description="activation of the stem")
    head_channels: int = Field(
        0, ge=0, le=MAX_CHANNELS, description="channels of the 1x1 conv before pooling (0: none)"
    )
    head_act: Literal["relu", "hswish", "swish"] = Field("relu", description="activation of the head conv")
    divisor: int = Field(8, ge=1, le=MAX_CHANNELS, description="channel counts are rounded to multiples of this")
    elastic_depths: list[Depth] = Field(default_factory=lambda: [1, 2], description="allowed blocks per stage")
    elastic_width_multipliers: list[Multiplier] = Field(
        default_factory=lambda: [1.0], description="allowed width multipliers of a stage's channels"
    )
    elastic_kernel_sizes: list[Kernel] = Field(default_factory=lambda: [3, 5], description="allowed depthwise kernels")
    elastic_expansion_ratios: list[Ratio] = Field(
        default_factory=lambda: [3, 6], description="allowed MBConv expansion ratios"
    )
    elastic_resolutions: list[Annotated[int, Field(ge=1, le=MAX_IMAGE_SIZE)]] = Field(
        default_factory=lambda: [32], description="allowed input resolutions"
    )
    stages: list[ElasticStageConf] = Field(default_factory=list, description="the MBConv stages, first to last")


class ModelDescConf(ConfModel):
    builder: str = Field("default", description="registered model-desc builder")
    n_reductions: int = Field(2, ge=0, le=MAX_CELLS, description="number of reduction cells")
    n_cells: int = Field(8, ge=1, le=MAX_CELLS, description="number of cells")
    max_final_edges: int = Field(2, ge=1, le=MAX_NODES, description="edges per node kept by the finalizer")
    model_post_op: str = Field("pool_adaptive_avg2d", description="pooling op before the logits")
    primitives: list[str] = Field(
        default_factory=lambda: list(DARTS_PRIMITIVES),
        description="candidate ops of a searched edge",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="free-form params copied into the desc")
    arch: str = Field(
        "", description="architecture a zoo builder builds, in its space's text (NB201 string, ENAS genotype/layers)"
    )
    aux_weight: float = Field(
        0.0, ge=0, description="weight of the aux tower loss (0: no aux tower); the stage's trainer uses it"
    )
    aux_tower_stride: int = Field(
        3, ge=1, le=MAX_IMAGE_SIZE, description="aux tower pool stride: 3 for 32x32, 2 for 224x224"
    )
    model_stems: ModelStemsConf = Field(default_factory=ModelStemsConf, description="model stems")
    cell: CellConf = Field(default_factory=CellConf, description="cell layout")
    dataset: DatasetConf = Field(
        default_factory=DatasetConf, description="dataset the model is built for (default: the conf's `dataset`)"
    )
    elastic: ElasticSpaceConf = Field(
        default_factory=ElasticSpaceConf, description="elastic MobileNet space (builder elastic_mobilenet)"
    )

    @model_validator(mode="after")
    def _buildable(self) -> ModelDescConf:
        if self.n_cells * self.cell.n_nodes > MAX_CELL_NODES:
            raise rule_error(
                f"{self.n_cells} cells of {self.cell.n_nodes} nodes: more than {MAX_CELL_NODES} nodes in all", "n_cells"
            )
        return self


class LoaderConf(ConfModel):
    train_batch: int = Field(64, ge=1, le=MAX_BATCH, description="training batch size")
    test_batch: int = Field(256, ge=1, le=MAX_BATCH, description="test batch size")
    val_ratio: float = Field(0.0, ge=0, lt=1, description="share of train held out as validation (search-val)")
    workers: int = Field(0, ge=0, le=MAX_WORKERS, description="data loader worker processes")
    cutout: int = Field(0, ge=0, le=MAX_IMAGE_SIZE, description="cutout length; 0 disables")
    aug: bool = Field(True, description="random crop with padding and horizontal flip on train images")
    dataset: DatasetConf = Field(
        default_factory=DatasetConf, description="dataset to load (default: the conf's `dataset`)"
    )


class OptimizerConf(ConfModel):
    type: Literal["sgd", "adam"] = Field("sgd", description="optimizer")
    lr: float = Field(0.025, gt=0, description="initial learning rate")
    decay: float = Field(3e-4, ge=0, le=1, description="weight decay")
    momentum: float = Field(0.9, ge=0, le=1, description="SGD momentum")
    nesterov: bool = Field(False, description="SGD Nesterov momentum")
    betas: list[Annotated[float, Field(ge=0, lt=1)]] = Field(
        default_factory=lambda: [0.9, 0.999], min_length=2, max_length=2, description="Adam betas"
    )


class WarmupConf(ConfModel):
    epochs: int = Field(0, ge=0, le=MAX_EPOCHS, description="linear warm-up epochs; 0 disables")


class LrScheduleConf(ConfModel):
    type: Literal["cosine", "constant"] = Field("cosine", description="learning-rate schedule")
    min_lr: float = Field(0.001, ge=0, description="cosine schedule's final learning rate")
    warmup: WarmupConf = Field(default_factory=WarmupConf, description="warm-up before the schedule")


class TrainerConf(ConfModel):
    epochs: int = Field(50, ge=0, le=MAX_EPOCHS, description="training epochs")
    optimizer: OptimizerConf = Field(default_factory=OptimizerConf, description="weight optimizer")
    lr_schedule: LrScheduleConf = Field(default_factory=LrScheduleConf, description="learning-rate schedule")
    grad_clip: float = Field(5.0, ge=0, description="gradient norm clip; 0 disables")
    drop_path_prob: float = Field(0.0, ge=0, lt=1, description="final drop-path probability (ramped linearly)")
    checkpoint_freq: int = Field(1, ge=1, le=MAX_EPOCHS, description="epochs between checkpoints")
    amp: bool = Field(True, description="mixed precision (autocast + GradScaler) on CUDA; ignored on the CPU")
    channels_last: bool = Field(True, description="NHWC memory layout for 4-D tensors (faster convolutions on CPU)")
    recompute_cells: int = Field(
        0,
        ge=-1,
        le=MAX_CELLS,
        description="leading cells whose activations are recomputed in backward, not stored (-1: all)",
    )


class CombinationsConf(ConfModel):
    reductions: list[Annotated[int, Field(ge=0, le=MAX_CELLS)]] = Field(
        default_factory=list, description="n_reductions values to sweep (empty: the conf's)"
    )
    cells: list[Annotated[int, Field(ge=1, le=MAX_CELLS)]] = Field(
        default_factory=list, description="n_cells values to sweep (empty: the conf's)"
    )
    nodes: list[Annotated[int, Field(ge=1, le=MAX_NODES)]] = Field(
        default_factory=list, description="cell.n_nodes values to sweep (empty: the conf's)"
    )

    @property
    def enabled(self) -> bool:
        return bool(self.reductions or self.cells or self.nodes)


class StageConf(ConfModel):
    model_desc: ModelDescConf = Field(default_factory=ModelDescConf, description="macro architecture")
    combinations: CombinationsConf = Field(
        default_factory=CombinationsConf, description="search once per (reductions, cells, nodes) and keep the best"
    )
    loader: LoaderConf = Field(default_factory=LoaderConf, description="data loading")
    trainer: TrainerConf = Field(default_factory=TrainerConf, description="training")
    finalizer: str = Field("default", description="registered finalizer")


class SearchStageConf(StageConf):
    """The search stage: a stage, plus how the algorithms that evaluate many candidates spread them over workers."""

    workers: int = Field(1, ge=1, le=1024, description="trial workers: 1 in this process, more as Ray actors")
    window: int = Field(4, ge=1, le=4096, description="candidates proposed ahead, fed back in proposal order")
    ray_address: str = Field("", description="Ray cluster to join (empty: RAY_ADDRESS, else a local one)")
    worker_retries: int = Field(2, ge=0, le=100, description="times a trial whose worker died is run again")


class NasConf(ConfModel):
    search: SerializeAsAny[SearchStageConf] = Field(default_factory=SearchStageConf, description="search stage")
    eval: SerializeAsAny[StageConf] = Field(default_factory=StageConf, description="evaluation stage")


class HwConf(ConfModel):
    """What cost models chosen by name need: the lookup table and how to measure."""

    lut: str = Field("", description="hardware cost lookup table for the lut_latency cost model")
    threads: int = Field(1, ge=1, le=MAX_THREADS, description="intra-op threads when latency is measured")
    batch: int = Field(1, ge=1, le=MAX_BATCH, description="batch size when latency is measured")
    runs: int = Field(100, ge=1, le=1_000_000, description="timed runs per network when latency is measured")
    constraints: dict[str, float] = Field(
        default_factory=dict,
        description="cost model name -> largest cost of a network a discrete search may train ({lut_latency: 5.0})",
    )


class CommonConf(ConfModel):
    experiment_name: str = Field("default", description="name of the experiment folder")
    logdir: str = Field("~/logdir", description="folder that holds experiment folders")
    seed: int = Field(2, ge=0, lt=2**32, description="random seed of the run (numpy takes 32 bits)")
    resume: bool = Field(True, description="continue a run whose folder holds a checkpoint")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="cuda when present, else cpu")
    threads: int = Field(
        0, ge=0, le=MAX_THREADS, description="torch threads for CPU work (0: chosen from the CPUs and the model size)"
    )
    shards: int = Field(
        0,
        ge=0,
        le=MAX_SHARDS,
        description="micro-batches of each global training batch, each with its own BatchNorm statistics; "
        "the result depends on it, not on the number of ranks, which must divide it (0: the number of ranks)",
    )
    collective_timeout_s: float = Field(
        120.0, gt=0, description="under torchrun: seconds a rank waits for the others before the run fails"
    )
    tensorboard: bool = Field(
        False, description="also write metrics as TensorBoard events (when tensorboard is installed)"
    )
    max_params: int = Field(
        SizeLimits.max_params, ge=1, description="largest estimated weight count of a description the run compiles"
    )
    max_activation_mib: int = Field(
        SizeLimits.max_activation_mib, ge=1, description="largest estimated activation memory of one input (MiB)"
    )

    def size_limits(self) -> SizeLimits:
        """The description size limits this run enforces."""
        return SizeLimits(max_params=self.max_params, max_activation_mib=self.max_activation_mib)


class Conf(ConfModel):
    """A whole experiment conf, validated by the schema its `algo` registered (`register_algo_conf`);
    `Conf()` is the core schema alone.

    An algorithm owns its sections: its subclass of this class narrows `nas` to its own stage schemas
    (a search trainer with more keys, a section of its search's own), so a key of another algorithm is
    unknown here. `Conf.model_validate(...)` and `Conf(algo=..., ...)` return that subclass. Each stage's
    `model_desc` and `loader` take the conf's `dataset` unless they set their own keys, which win.
    """

    algo: str = Field(DEFAULT_ALGO, description="registered algorithm")
    common: CommonConf = Field(default_factory=CommonConf, description="run-wide settings")
    dataset: DatasetConf = Field(default_factory=DatasetConf, description="dataset of the experiment and its stages")
    nas: SerializeAsAny[NasConf] = Field(default_factory=NasConf, description="search and evaluation")
    hw: HwConf = Field(default_factory=HwConf, description="cost models: lookup table and latency measurement")

    def __new__(cls, *args: Any, **data: Any) -> Conf:
        """`Conf(algo=name, ...)` builds the algorithm's subclass; without `algo` (copies, pickles,
        pydantic's own construction) the class stays."""
        target = algo_conf_class(data["algo"]) if cls is Conf and "algo" in data else cls
        return super().__new__(target if issubclass(target, cls) else cls)

    @model_validator(mode="wrap")
    @classmethod
    def _by_algorithm(cls, data: Any, handler: ModelWrapValidatorHandler[Conf]) -> Conf:
        """Data that names an `algo` is validated by that algorithm's schema."""
        if not isinstance(data, dict):
            return handler(data)
        data = with_stage_datasets(data)
        target = algo_conf_class(data["algo"]) if "algo" in data else cls
        if target is not cls and issubclass(target, cls):
            return target.model_validate(data)
        return handler(data)

    @field_validator("algo")
    @classmethod
    def _registered(cls, name: str) -> str:
        if name not in _algo_confs():
            known = _algo_confs().names()
            raise PydanticCustomError(
                "unknown_algorithm",
                "unknown algorithm {name}{hint}",
                {"name": repr(name), "hint": close_matches(name, known) or f" (known: {', '.join(known)})"},
            )
        return name


# --- algorithm-owned sections -----------------------------------------------------------------
ALGO_CONFS: Registry[type[Conf]] = Registry("algorithm conf", load_plugins=load_conf_plugins)


def register_algo_conf(name: str, conf: type[Conf] = Conf) -> None:
    """Register the conf schema of algorithm `name`: `Conf` or a subclass holding the algorithm's sections.

    An algorithm's `conf` module registers it (read without the algorithm, see `load_conf_plugins`), and
    its runner names it again (`register_algo(name, conf=...)`): the same class twice is one registration.
    """
    if not (isinstance(conf, type) and issubclass(conf, Conf)):
        raise RegistryError(f"algorithm {name!r}: its conf schema must be a Conf subclass, got {conf!r}")
    if name not in ALGO_CONFS or ALGO_CONFS.get(name) is not conf:
        ALGO_CONFS.add(name, conf)


def _algo_confs() -> Registry[type[Conf]]:
    """The registry, after the installed algorithms' conf modules registered their schemas."""
    from descgraph._plugins import load_conf_plugins

    load_conf_plugins()
    return ALGO_CONFS


def algo_conf_class(name: Any) -> type[Conf]:
    """The conf schema of algorithm `name`; plain `Conf` for a name no algorithm registered."""
    registry = _algo_confs()
    return registry.get(name) if isinstance(name, str) and name in registry else Conf


def owners_of(keys: list[str]) -> list[str]:
    """The algorithms whose conf schema has the key path `keys` (sorted), for error messages."""
    registry = _algo_confs()
    return [name for name in registry.names() if schema_path(registry.get(name), keys) is not None]


def schema_path(cls: type[BaseModel], keys: list[str]) -> Any:
    """The annotation at key path `keys` below `cls` (a schema class or a field type), None if not a path."""
    annotation: Any = cls
    for key in keys:
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None if get_origin(annotation) is not dict else Any
        field = annotation.model_fields.get(key)
        if field is None:
            return None
        annotation = field.annotation
    return annotation


def rule_error(message: str, at: str = "") -> PydanticCustomError:
    """What a validator raises for a broken rule; `at` is the key path below the section it validates
    (`loader.val_ratio`, `devices[1].name`), which the loader's one-line message appends to the section's."""
    return PydanticCustomError("conf_rule", "{message}", {"message": message, "at": at})


def with_stage_datasets(data: dict) -> dict:
    """`data` with the conf's `dataset` under every stage's `model_desc` and `loader` (their own keys win)."""
    top = data.get("dataset", {})
    top = top.model_dump() if isinstance(top, BaseModel) else top
    nas = data.get("nas", {})
    if not isinstance(top, dict) or not isinstance(nas, dict):
        return data
    nas = dict(nas)
    for stage_name in ("search", "eval"):
        stage = nas.get(stage_name, {})
        if isinstance(stage, dict):
            nas[stage_name] = {**stage, **{part: _with_dataset(stage.get(part, {}), top) for part in STAGE_DATA_PARTS}}
    return {**data, "nas": nas}


def _with_dataset(part: Any, dataset: dict) -> Any:
    if not isinstance(part, dict) or not isinstance(part.get("dataset", {}), dict):
        return part
    return {**part, "dataset": {**dataset, **part.get("dataset", {})}}
