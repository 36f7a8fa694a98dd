"""Pairing the teacher's and the student's intermediate stages, for feature-map distillation."""

from __future__ import annotations

from torch import nn

from akdgbench.architecture import Generator
from akdgbench.builtin.methods._stages import describe, stage_output_shapes
from akdgbench.errors import UsageError


def intermediate_widths(teacher: Generator, student: Generator, *,
                        spatial_only: bool = False) -> list[tuple[int, int, int]]:
    """(teacher width, student width, rank) of each stage before the image stage.

    The rank counts a sample's dimensions: 3 for feature maps (C, H, W), 1 for vectors.

    Stages pair one to one: there must be as many, and each pair's outputs must
    have the same rank and spatial size (only the channel width may differ); with
    ``spatial_only`` they must also be feature maps (C, H, W), not flat vectors.
    The images themselves must have one shape. A ``UsageError`` says why not.
    """
    teacher_shapes, student_shapes = stage_output_shapes(teacher), stage_output_shapes(student)
    if teacher_shapes[-1] != student_shapes[-1]:
        raise UsageError(f"teacher {describe(teacher)} makes images {teacher_shapes[-1]} but "
                         f"student {describe(student)} makes {student_shapes[-1]}")
    if len(teacher_shapes) != len(student_shapes):
        raise UsageError(f"no aligned stages: teacher {describe(teacher)} vs student "
                         f"{describe(student)}")
    if len(teacher_shapes) < 2:
        raise UsageError(f"no intermediate stages: teacher {describe(teacher)}")
    widths = []
    for i, (t_shape, s_shape) in enumerate(zip(teacher_shapes[:-1], student_shapes[:-1],
                                               strict=True)):
        if (len(t_shape) != len(s_shape) or t_shape[1:] != s_shape[1:]
                or len(t_shape) not in (1, 3)):
            raise UsageError(
                f"no aligned stages: stage {i} of teacher {describe(teacher)} outputs {t_shape} "
                f"but of student {describe(student)} {s_shape} (only widths may differ)")
        if spatial_only and len(t_shape) != 3:
            raise UsageError(f"stage {i} outputs flat vectors {t_shape}, not feature maps "
                             "(C, H, W)")
        widths.append((t_shape[0], s_shape[0], len(t_shape)))
    return widths


def pointwise(width_in: int, width_out: int, rank: int, *, bias: bool = False) -> nn.Module:
    """A 1x1 convolution for feature maps (rank 3 per sample), a linear map for vectors."""
    if rank == 1:
        return nn.Linear(width_in, width_out, bias=bias)
    return nn.Conv2d(width_in, width_out, kernel_size=1, bias=bias)
