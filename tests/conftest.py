"""Shared test set-up: one torch thread (tests run many tiny models; thread start-up costs more than it saves)."""

import torch

torch.set_num_threads(1)
