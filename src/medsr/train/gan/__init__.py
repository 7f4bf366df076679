"""GAN variants of the review's sections 2.5 and 3.4 as training tasks (``medsr train``).

* :mod:`~medsr.train.gan.ggan` -- G-GAN (``task: ggan``, ref. [53], Shamsolmoali et al. 2019):
  least-squares GAN trained on a growing up-sampling factor;
* :mod:`~medsr.train.gan.cincgan` -- CinCGAN (``task: cincgan``, ref. [52], Yuan et al. 2018):
  the cycle-in-cycle GAN on unpaired LR/HR sets;
* :mod:`~medsr.train.gan.sections` -- their recipe sections.

Nothing is imported here: ``import medsr.train.gan`` loads no Lightning.
"""
