"""Probing a generator's stage outputs, for methods that must check shapes before training."""

from __future__ import annotations

import torch

from akdgbench.architecture import Generator
from akdgbench.errors import UsageError


@torch.no_grad()
def stage_output_shapes(generator: Generator) -> list[tuple[int, ...]]:
    """Per-sample output shape of each stage, e.g. ``[(256, 4, 4), ..., (3, 32, 32)]``.

    Runs two all-zero latents in eval mode: no randomness is drawn and no
    batch-norm statistic or spectral-norm estimate changes.
    """
    was_training = generator.training
    parameter = next(generator.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    generator.eval()
    try:
        x = torch.zeros(2, generator.z_dim, device=device)
        shapes = []
        for stage in generator.stages:
            x = stage(x)
            shapes.append(tuple(x.shape[1:]))
    finally:
        generator.train(was_training)
    return shapes


def describe(generator: Generator) -> str:
    return f"{type(generator).__name__} ({len(generator.stages)} stages)"


def check_same_images(teacher, student, *, same_latent: bool) -> None:
    """Teacher and student must make images of one shape (and take one latent size if asked)."""
    if same_latent and teacher.z_dim != student.z_dim:
        raise UsageError(
            f"the teacher takes z of size {teacher.z_dim} and the student {student.z_dim}; "
            "they must be fed the same z (set the student's z_dim)")
    teacher_shape = stage_output_shapes(teacher)[-1]
    student_shape = stage_output_shapes(student)[-1]
    if teacher_shape != student_shape:
        raise UsageError(f"teacher {describe(teacher)} makes images {teacher_shape} but student "
                         f"{describe(student)} makes {student_shape}")
