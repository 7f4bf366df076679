"""Benchmarks of the review (Li, Sixou & Peyrin, IRBM 2021): its Table 1 and its kind of comparison.

* :mod:`.table1` -- the Table-1 protocol on natural images (Set5 / Set14, x2 / x3 / x4);
* :mod:`.table1_train` -- Table 1 with networks trained by ``medsr train``;
* :mod:`.selfsr` -- simulated thick slices with truth, every method through ``medsr.infer.upscale``;
* :mod:`.medical` -- simulated and real thick-slice CT/MRI (:mod:`.supervised`: its trained row);
* :mod:`.report` / :mod:`.figures` -- the tables, JSON records and figures of the medical ones.

``benchmarks/*.py`` are the command lines of these modules.
"""
