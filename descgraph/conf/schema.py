"""The pydantic schemas of an experiment conf. Every section refuses unknown keys.

Every field has a default and a one-line description, so a conf only says what differs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ConfModel(BaseModel):
    """Base of every conf section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DatasetConf(ConfModel):
    name: str = Field("cifar10", description="registered dataset provider")
    n_classes: int = Field(10, ge=1, description="number of classes")
    channels: int = Field(3, ge=1, description="image channels")
    image_size: int = Field(32, ge=1, description="height and width of the images the model sees")
    dataroot: str = Field("~/dataroot", description="folder holding one folder per dataset")
    storage_name: str = Field("", description="folder name of the dataset inside dataroot")
    max_batches: int = Field(-1, description="if >= 0, only this many batches per epoch (toy runs)")
    download: bool = Field(True, description="download a missing dataset when the network allows")
    synthetic_train_size: int = Field(512, ge=1, description="training images of the synthetic dataset")
    synthetic_test_size: int = Field(128, ge=1, description="test images of the synthetic dataset")


class ModelStemsConf(ConfModel):
    ops: list[str] = Field(default_factory=lambda: ["stem_conv3x3"], description="one or two model stem ops")
    init_node_ch: int = Field(16, ge=1, description="channels of the nodes in the first cell")
    stem_multiplier: int = Field(3, ge=1, description="model stem output channels = init_node_ch * this")


class CellConf(ConfModel):
    n_nodes: int = Field(4, ge=1, description="nodes per cell")
    cell_post_op: str = Field("concate_channels", description="op that combines the cell's output states")


class ElasticStageConf(ConfModel):
    channels: int = Field(16, ge=1, description="output channels at width multiplier 1")
    stride: int = Field(1, ge=1, le=2, description="stride of the stage's first block")
    depths: list[int] = Field(default_factory=list, description="allowed block counts (empty: elastic_depths)")
    width_multipliers: list[float] = Field(
        default_factory=list, description="allowed width multipliers (empty: elastic_width_multipliers)"
    )
    kernel_sizes: list[int] = Field(default_factory=list, description="allowed kernels (empty: elastic_kernel_sizes)")
    expansion_ratios: list[int] = Field(
        default_factory=list, description="allowed expansion ratios (empty: elastic_expansion_ratios)"
    )
    se: bool = Field(False, description="squeeze-excite in the stage's blocks")
    act: Literal["relu", "hswish", "swish"] = Field("relu", description="activation of the stage's blocks")


class ElasticSpaceConf(ConfModel):
    stem_channels: int = Field(16, ge=1, description="channels of the 3x3 conv stem")
    stem_stride: int = Field(2, ge=1, le=2, description="stride of the stem")
    stem_act: Literal["relu", "hswish", "swish"] = Field("relu", description="activation of the stem")
    head_channels: int = Field(0, ge=0, description="channels of the 1x1 conv before pooling (0: none)")
    head_act: Literal["relu", "hswish", "swish"] = Field("relu", description="activation of the head conv")
    divisor: int = Field(8, ge=1, description="channel counts are rounded to multiples of this")
    elastic_depths: list[int] = Field(default_factory=lambda: [1, 2], description="allowed blocks per stage")
    elastic_width_multipliers: list[float] = Field(
        default_factory=lambda: [1.0], description="allowed width multipliers of a stage's channels"
    )
    elastic_kernel_sizes: list[int] = Field(default_factory=lambda: [3, 5], description="allowed depthwise kernels")
    elastic_expansion_ratios: list[int] = Field(
        default_factory=lambda: [3, 6], description="allowed MBConv expansion ratios"
    )
    elastic_resolutions: list[int] = Field(default_factory=lambda: [32], description="allowed input resolutions")
    stages: list[ElasticStageConf] = Field(default_factory=list, description="the MBConv stages, first to last")


class ModelDescConf(ConfModel):
    builder: str = Field("default", description="registered model-desc builder")
    n_reductions: int = Field(2, ge=0, description="number of reduction cells")
    n_cells: int = Field(8, ge=1, description="number of cells")
    max_final_edges: int = Field(2, ge=1, description="edges per node kept by the finalizer")
    model_post_op: str = Field("pool_adaptive_avg2d", description="pooling op before the logits")
    primitives: list[str] = Field(
        default_factory=lambda: [
            "none",
            "max_pool_3x3",
            "avg_pool_3x3",
            "skip_connect",
            "sep_conv_3x3",
            "sep_conv_5x5",
            "dil_conv_3x3",
            "dil_conv_5x5",
        ],
        description="candidate ops of a searched edge",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="free-form params copied into the desc")
    arch: str = Field(
        "", description="architecture a zoo builder builds, in its space's text (NB201 string, ENAS genotype/layers)"
    )
    aux_weight: float = Field(0.0, ge=0, description="weight of the aux tower loss (0: no aux tower)")
    aux_tower_stride: int = Field(3, ge=1, description="aux tower pool stride: 3 for 32x32, 2 for 224x224")
    model_stems: ModelStemsConf = Field(default_factory=ModelStemsConf, description="model stems")
    cell: CellConf = Field(default_factory=CellConf, description="cell layout")
    dataset: DatasetConf = Field(default_factory=DatasetConf, description="dataset the model is built for")
    elastic: ElasticSpaceConf = Field(
        default_factory=ElasticSpaceConf, description="elastic MobileNet space (builder elastic_mobilenet)"
    )


class LoaderConf(ConfModel):
    train_batch: int = Field(64, ge=1, description="training batch size")
    test_batch: int = Field(256, ge=1, description="test batch size")
    val_ratio: float = Field(0.0, ge=0, lt=1, description="share of train held out as validation (search-val)")
    workers: int = Field(0, ge=0, description="data loader worker processes")
    cutout: int = Field(0, ge=0, description="cutout length; 0 disables")
    aug: bool = Field(True, description="random crop with padding and horizontal flip on train images")
    dataset: DatasetConf = Field(default_factory=DatasetConf, description="dataset to load")


class OptimizerConf(ConfModel):
    type: Literal["sgd", "adam"] = Field("sgd", description="optimizer")
    lr: float = Field(0.025, gt=0, description="initial learning rate")
    decay: float = Field(3e-4, ge=0, description="weight decay")
    momentum: float = Field(0.9, ge=0, description="SGD momentum")
    nesterov: bool = Field(False, description="SGD Nesterov momentum")
    betas: list[float] = Field(default_factory=lambda: [0.9, 0.999], description="Adam betas")


class WarmupConf(ConfModel):
    epochs: int = Field(0, ge=0, description="linear warm-up epochs; 0 disables")


class LrScheduleConf(ConfModel):
    type: Literal["cosine", "constant"] = Field("cosine", description="learning-rate schedule")
    min_lr: float = Field(0.001, ge=0, description="cosine schedule's final learning rate")
    warmup: WarmupConf = Field(default_factory=WarmupConf, description="warm-up before the schedule")


class SandwichConf(ConfModel):
    use_sandwich_sampling: bool = Field(True, description="largest, smallest and random children per step (BigNAS)")
    n_random: int = Field(2, ge=0, description="random children per sandwich step")
    distillation_weight: float = Field(0.5, ge=0, le=1, description="share of the distillation loss for children")
    temperature: float = Field(1.0, gt=0, description="softmax temperature of in-place distillation")
    calib_batches: int = Field(8, ge=1, description="training batches that recalibrate BN for a child")


class TrainerConf(ConfModel):
    epochs: int = Field(50, ge=0, description="training epochs")
    optimizer: OptimizerConf = Field(default_factory=OptimizerConf, description="weight optimizer")
    alpha_optimizer: OptimizerConf = Field(
        default_factory=lambda: OptimizerConf(type="adam", lr=3e-4, decay=1e-3, betas=[0.5, 0.999]),
        description="architecture-parameter optimizer",
    )
    lr_schedule: LrScheduleConf = Field(default_factory=LrScheduleConf, description="learning-rate schedule")
    grad_clip: float = Field(5.0, ge=0, description="gradient norm clip; 0 disables")
    drop_path_prob: float = Field(0.0, ge=0, lt=1, description="final drop-path probability (ramped linearly)")
    aux_weight: float = Field(0.0, ge=0, description="weight of the aux tower loss")
    order: Literal["first", "second"] = Field("first", description="DARTS architecture gradient order")
    checkpoint_freq: int = Field(1, ge=1, description="epochs between checkpoints")
    amp: bool = Field(True, description="mixed precision (autocast + GradScaler) on CUDA; ignored on the CPU")
    channels_last: bool = Field(True, description="NHWC memory layout for 4-D tensors (faster convolutions on CPU)")
    recompute_cells: int = Field(
        0, ge=-1, description="leading cells whose activations are recomputed in backward, not stored (-1: all)"
    )
    sandwich: SandwichConf = Field(default_factory=SandwichConf, description="BigNAS child sampling and distillation")


class CombinationsConf(ConfModel):
    reductions: list[int] = Field(default_factory=list, description="n_reductions values to sweep (empty: the conf's)")
    cells: list[int] = Field(default_factory=list, description="n_cells values to sweep (empty: the conf's)")
    nodes: list[int] = Field(default_factory=list, description="cell.n_nodes values to sweep (empty: the conf's)")

    @property
    def enabled(self) -> bool:
        return bool(self.reductions or self.cells or self.nodes)


class DeviceConf(ConfModel):
    name: str = Field("device", min_length=1, description="device name (the folder of its finalized child)")
    constraints: dict[str, float] = Field(default_factory=dict, description="cost model name -> largest cost allowed")


class MultiObjectiveConf(ConfModel):
    population_size: int = Field(100, ge=2, description="children per generation")
    generations: int = Field(50, ge=1, description="generations of the evolution")
    mutation_prob: float = Field(0.1, ge=0, le=1, description="chance that a decision of a new child is redrawn")
    crossover_share: float = Field(0.5, ge=0, le=1, description="share of new children made by crossover")
    parents: int = Field(16, ge=1, description="best feasible children per device kept as parents")
    time_limit_s: float = Field(0.0, ge=0, description="stop the search after this many seconds (0: no limit)")
    pareto_cost: str = Field("flops", description="cost model of the accuracy-cost Pareto front")
    devices: list[DeviceConf] = Field(default_factory=list, description="target devices and their cost budgets")


class DiscreteSearchConf(ConfModel):
    space: str = Field("nb201", description="registered discrete search space whose candidates are trained")
    budget: int = Field(20, ge=1, description="distinct architectures trained and scored (a repeat is free)")
    max_proposals: int = Field(0, ge=0, description="proposals in all, repeats included (0: 10 x budget)")
    strategy_params: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="keyword parameters by strategy ({rea: {population_size: 4}}); algo's is used"
    )


class StageConf(ConfModel):
    model_desc: ModelDescConf = Field(default_factory=ModelDescConf, description="macro architecture")
    combinations: CombinationsConf = Field(
        default_factory=CombinationsConf, description="search once per (reductions, cells, nodes) and keep the best"
    )
    loader: LoaderConf = Field(default_factory=LoaderConf, description="data loading")
    trainer: TrainerConf = Field(default_factory=TrainerConf, description="training")
    finalizer: str = Field("default", description="registered finalizer")
    multi_objective: MultiObjectiveConf = Field(
        default_factory=MultiObjectiveConf, description="evolutionary multi-device search over children (BigNAS)"
    )
    discrete: DiscreteSearchConf = Field(
        default_factory=DiscreteSearchConf, description="discrete search with trained candidates (rea, reinforce)"
    )


class NasConf(ConfModel):
    search: StageConf = Field(default_factory=StageConf, description="search stage")
    eval: StageConf = Field(default_factory=StageConf, description="evaluation stage")


class HwConf(ConfModel):
    """What cost models chosen by name need: the lookup table and how to measure."""

    lut: str = Field("", description="hardware cost lookup table for the lut_latency cost model")
    threads: int = Field(1, ge=1, description="intra-op threads when latency is measured")
    batch: int = Field(1, ge=1, description="batch size when latency is measured")
    runs: int = Field(100, ge=1, description="timed runs per network when latency is measured")
    constraints: dict[str, float] = Field(
        default_factory=dict,
        description="cost model name -> largest cost of a network a discrete search may train ({lut_latency: 5.0})",
    )


class CommonConf(ConfModel):
    experiment_name: str = Field("default", description="name of the experiment folder")
    logdir: str = Field("~/logdir", description="folder that holds experiment folders")
    seed: int = Field(2, description="random seed of the run")
    resume: bool = Field(True, description="continue a run whose folder holds a checkpoint")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="cuda when present, else cpu")
    threads: int = Field(0, ge=0, description="torch threads for CPU work (0: torch's default)")


class Conf(ConfModel):
    """A whole experiment conf."""

    algo: str = Field("darts", description="registered algorithm")
    common: CommonConf = Field(default_factory=CommonConf, description="run-wide settings")
    dataset: DatasetConf = Field(default_factory=DatasetConf, description="dataset of the experiment")
    nas: NasConf = Field(default_factory=NasConf, description="search and evaluation")
    hw: HwConf = Field(default_factory=HwConf, description="cost models: lookup table and latency measurement")
