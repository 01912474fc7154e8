"""Evaluation: classical baselines, the ``patina eval`` protocols, and the results/report layer they share.

Every protocol is an :class:`EvalProtocol` (the outer loop over sets and images, written once) with its own
per-image hook: :class:`RestoreEval`, ``ColorizeEval``, ``UpscaleEval``, ``RetroEval``, ``StylizeEval``.

    from patina.evaluation import evaluate_restore, print_report
    report = evaluate_restore(["Kodak24/"], pipeline=RestorePipeline())
    print_report(report)
"""

from patina.evaluation.baselines import classical_restore, detected_mask
from patina.evaluation.protocol import EvalProtocol, EvalSet, model_settings
from patina.evaluation.report import (DatasetResult, EvalReport, EvaluationDataError, ImageScore, MethodScores,
                                      card_metrics, dataset_table, print_report, update_card, write_json)
from patina.evaluation.restore_eval import PROTOCOL as RESTORE_PROTOCOL
from patina.evaluation.restore_eval import RestoreEval, evaluate_restore

__all__ = [
    "RESTORE_PROTOCOL",
    "DatasetResult",
    "EvalProtocol",
    "EvalReport",
    "EvalSet",
    "EvaluationDataError",
    "ImageScore",
    "MethodScores",
    "RestoreEval",
    "card_metrics",
    "classical_restore",
    "dataset_table",
    "detected_mask",
    "evaluate_restore",
    "model_settings",
    "print_report",
    "update_card",
    "write_json",
]
