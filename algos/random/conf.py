"""Random search adds no section to a conf: `algo: random` is the core schema."""

from __future__ import annotations

from descgraph.conf import Conf, register_algo_conf

register_algo_conf("random", Conf)
