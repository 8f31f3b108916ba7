"""A small CNN for the synthetic shapes, trained on the CPU in about a minute, usable as a LoadedModel.

Four conv blocks (conv, batch norm, ReLU; the first two followed by 2 x 2 max pooling), global
average pooling and a linear classifier: Grad-CAM's default layer is the last block (12 x 12), and
the sanity check randomises fc, then block4 down to block1. Max pooling rather than strided or
dilated convolutions keeps the last block's receptive field tight (26 px), so its map hugs the
shape; with strided and dilated blocks Grad-CAM's AUROC stayed at 0.95.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from interpret.models import LoadedModel
from interpret.models.loaded import freeze
from interpret.preprocess import Preprocessing
from interpret.progress import Progress, report

from .synthetic import CLASSES, SIZE, ShapesData


class ConvBlock(nn.Module):
    def __init__(self, inputs: int, outputs: int, pool: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(inputs, outputs, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(outputs)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2) if pool else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.relu(self.bn(self.conv(x))))


class ShapesNet(nn.Module):
    def __init__(self, classes: int = len(CLASSES), width: int = 16):
        super().__init__()
        self.block1 = ConvBlock(3, width, pool=True)
        self.block2 = ConvBlock(width, 2 * width, pool=True)
        self.block3 = ConvBlock(2 * width, 4 * width)
        self.block4 = ConvBlock(4 * width, 4 * width)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block4(self.block3(self.block2(self.block1(x))))
        return self.fc(self.pool(x).flatten(1))


@dataclass(frozen=True)
class TrainedShapes:
    lm: LoadedModel
    test_accuracy: float
    seconds: float


def preprocessing_for(images: np.ndarray) -> Preprocessing:
    """Normalisation by the training set's own channel mean and std (so 0 = the data set mean)."""
    pixels = images.reshape(-1, 3).astype(np.float64) / 255.0
    mean = tuple(float(v) for v in pixels.mean(0))
    std = tuple(float(v) for v in pixels.std(0))
    return Preprocessing(crop_size=SIZE, resize_size=SIZE, mean=mean, std=std, interpolation="bilinear")


def accuracy(lm: LoadedModel, data: ShapesData, batch: int = 256) -> tuple[float, np.ndarray]:
    """Test accuracy and the predicted class of every image."""
    predictions = []
    with torch.inference_mode():
        for start in range(0, len(data), batch):
            x = lm.preprocessing.normalize(data.images[start:start + batch])
            predictions.append(lm.model(lm.input_tensor(x)).argmax(1).cpu().numpy())
    predicted = np.concatenate(predictions)
    return float((predicted == data.labels).mean()), predicted


def train_shapes(train: ShapesData, test: ShapesData, seed: int = 0, epochs: int = 12, width: int = 16,
                 batch: int = 64, lr: float = 4e-3, progress: Progress | None = None) -> TrainedShapes:
    """Train ShapesNet with Adam and a one-cycle schedule; returns it frozen, as a LoadedModel."""
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        # channels-last: oneDNN's faster path for these small convolutions on the CPU (a batched
        # training step took about a third less time, one thread)
        model = ShapesNet(width=width).to(memory_format=torch.channels_last)
    pre = preprocessing_for(train.images)
    x_all = pre.normalize(train.images)
    y_all = torch.from_numpy(train.labels)
    steps_per_epoch = (len(train) + batch - 1) // batch
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=epochs * steps_per_epoch)
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(train), generator=generator)
        for i in range(steps_per_epoch):
            idx = order[i * batch:(i + 1) * batch]
            x = x_all[idx]
            flip = torch.rand(len(idx), generator=generator) < 0.5  # shapes are mirror-symmetric
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            loss = nn.functional.cross_entropy(model(x), y_all[idx])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
        report(progress, (epoch + 1) / epochs)

    model.zero_grad(set_to_none=True)
    lm = LoadedModel(spec=f"synthetic:shapes (seed {seed})", model=freeze(model), preprocessing=pre,
                     class_names=CLASSES, device=torch.device("cpu"), lock=threading.RLock())
    acc, _ = accuracy(lm, test)
    return TrainedShapes(lm=lm, test_accuracy=acc, seconds=time.perf_counter() - start)
