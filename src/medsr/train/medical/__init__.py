"""Training tasks of review methods whose papers define their own losses (mostly section 4).

* :mod:`~medsr.train.medical.tl` -- the T-L network / anatomically constrained SR
  (``task: tl_net``, ref. [80], Oktay et al. 2018), with the labelled patches of
  :mod:`~medsr.train.medical.labels`;
* :mod:`~medsr.train.medical.progressive` -- the progressive GAN trained stage by stage, one
  critic per x2 stage, with the triplet loss (``task: progressive_gan``, ref. [66], Mahapatra
  et al. 2019);
* :mod:`~medsr.train.medical.srfeat` -- SRFeat's image + feature discriminators
  (``task: srfeat``, ref. [63], Park et al. 2018; a section 3.4 GAN kept here beside them);
* :mod:`~medsr.train.medical.sections` -- their recipe sections and cross-field checks;
* :mod:`~medsr.train.medical.build` -- the task builder :mod:`medsr.train.builders` calls.

Nothing is imported here: ``import medsr.train.medical`` loads no Lightning.
"""
