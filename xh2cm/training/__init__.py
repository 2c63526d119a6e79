"""Training of H2CM models on plain arrays (docs/model/training.md): losses, trainer,
checkpoints, CV."""

from xh2cm.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from xh2cm.training.cv import fold_split, spatial_kfold
from xh2cm.training.data import TrainingData, month_calendar
from xh2cm.training.ensemble import Ensemble, Member, train_ensemble
from xh2cm.training.losses import (
    TERMS,
    LossSpec,
    LossWeights,
    ObsBatch,
    Prior,
    loss_terms,
    observation_scales,
    term_kinds,
    total_loss,
)
from xh2cm.training.trainer import (
    History,
    TrainConfig,
    eval_step,
    make_optimizer,
    train,
    train_step,
)

__all__ = [
    "TERMS",
    "Ensemble",
    "History",
    "LossSpec",
    "LossWeights",
    "Member",
    "ObsBatch",
    "Prior",
    "TrainConfig",
    "TrainingData",
    "eval_step",
    "fold_split",
    "latest_checkpoint",
    "load_checkpoint",
    "loss_terms",
    "make_optimizer",
    "month_calendar",
    "observation_scales",
    "save_checkpoint",
    "spatial_kfold",
    "term_kinds",
    "total_loss",
    "train",
    "train_ensemble",
    "train_step",
]
