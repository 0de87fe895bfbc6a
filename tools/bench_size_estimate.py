"""Benchmark: the description size estimate (descgraph.desc.size) against the compiled networks.

For known networks (DARTS_V2 at the CIFAR-10 and ImageNet eval macros, the DARTS search supernet, the BigNAS
digits supernet, a NAS-Bench-201 network, an ENAS micro network) it prints the compiled parameter count
beside the estimate, and the activation memory of one batch-1 forward (every leaf module's output, float32)
beside the estimated one, with their ratios, as a Markdown table or JSON.

    python tools/bench_size_estimate.py [--json]
"""

from __future__ import annotations

import argparse
import json

NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|"
ENAS_CELL = [("sep_conv_bn_3x3", 0), ("skip_connect", 1), ("avg_pool_3x3", 2), ("sep_conv_bn_5x5", 0)]


def networks() -> dict:
    """The descriptions measured, by name."""
    from descgraph.builders import build_enas_micro, build_nb201, get_builder, nb201_model_conf
    from descgraph.conf import load_conf
    from descgraph.conf.schema import ModelDescConf
    from descgraph.desc.enas import loose_ends
    from descgraph.desc.genotype import Genotype
    from descgraph.interop import from_genotype

    def stage(names: list[str], name: str, template=None):
        md = getattr(load_conf(names).nas, name).model_desc
        return get_builder(md.builder).build(md, template=template)

    imagenet = ["darts", "confs/datasets/imagenet.yaml"]
    enas = Genotype(ENAS_CELL, loose_ends(ENAS_CELL), ENAS_CELL, loose_ends(ENAS_CELL))
    return {
        "DARTS_V2 at the eval macro": stage(["darts"], "eval", from_genotype("DARTS_V2")),
        "DARTS search supernet": stage(["darts"], "search"),
        "DARTS_V2 on ImageNet": stage(imagenet, "eval", from_genotype("DARTS_V2")),
        "BigNAS digits supernet": stage(["bignas_digits"], "search"),
        "NAS-Bench-201 (N=5, C=16)": build_nb201(NB201_ARCH, nb201_model_conf()),
        "ENAS micro (8 cells)": build_enas_micro(enas, ModelDescConf(n_cells=8)),
    }


def measure(desc) -> dict:
    """Compiled and estimated parameters and batch-1 activation MiB of one description."""
    import torch

    from descgraph.desc.size import estimate_size
    from descgraph.nn import Model

    model, outs = Model(desc, droppath=False).eval(), []
    leaves = [m for m in model.modules() if not list(m.children())]
    for m in leaves:
        m.register_forward_hook(lambda _m, _i, out: outs.append(out.numel()))
    with torch.no_grad():
        model(torch.zeros(1, *desc.input_shape))
    size, params, mib = estimate_size(desc), model.param_count(with_aux=True), sum(outs) * 4 / 2**20
    estimated_mib = size.activation_bytes / 2**20
    return {
        "params": params,
        "estimated_params": size.params,
        "params_ratio": round(size.params / params, 2),
        "activation_mib": round(mib, 1),
        "estimated_activation_mib": round(estimated_mib, 1),
        "activation_ratio": round(estimated_mib / mib, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    args = parser.parse_args()
    results = {name: measure(desc) for name, desc in networks().items()}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print("| network | params | estimate | ratio | activations, MiB | estimate | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in results.items():
        print(
            f"| {name} | {r['params']:,} | {r['estimated_params']:,} | {r['params_ratio']:.2f} | "
            f"{r['activation_mib']} | {r['estimated_activation_mib']} | {r['activation_ratio']:.2f} |"
        )


if __name__ == "__main__":
    main()
