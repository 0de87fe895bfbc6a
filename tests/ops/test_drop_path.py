"""DropPath: drops whole samples, keeps the mean in expectation, is the identity in eval."""

from __future__ import annotations

import pytest
import torch

from descgraph.ops import DropPath


def test_drop_path_drops_whole_samples_and_keeps_the_mean():
    torch.manual_seed(0)
    op = DropPath(0.3).train()
    out = op(torch.ones(20000, 2, 3, 3))
    per_sample = out.flatten(1)
    assert ((per_sample == 0).all(1) | torch.isclose(per_sample, torch.tensor(1 / 0.7)).all(1)).all()
    assert abs(float(out.mean()) - 1.0) < 0.02
    assert abs(float((per_sample[:, 0] == 0).float().mean()) - 0.3) < 0.02


def test_drop_path_is_identity_in_eval_and_at_zero():
    x = torch.randn(4, 2, 3, 3)
    assert torch.equal(DropPath(0.5).eval()(x), x)
    assert torch.equal(DropPath(0.0).train()(x), x)


def test_drop_path_probability_is_settable_and_checked():
    op = DropPath()
    op.p = 0.2
    assert op.p == 0.2 and "p=0.2" in repr(op)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        op.p = 1.0
