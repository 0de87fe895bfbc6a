"""Algorithms, one folder each; each registers itself through the `descgraph.algos` entry-point group."""
