"""Test signals defined in continuous time, so any sample rate renders the same music."""

import numpy as np


def tone(freq: float, sr: int, seconds: float = 3.0, amp: float = 0.4) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def song(sr: int, seconds: float = 6.0) -> np.ndarray:
    """Harmonic notes struck every 0.5 s (120 BPM); defined in continuous time, so any rate."""
    t = np.arange(int(seconds * sr)) / sr
    env = 0.3 + 0.7 * np.exp(-(t % 0.5) / 0.08)
    partials = [(0.4, 220), (0.2, 440), (0.1, 660), (0.05, 1320), (0.03, 2640)]
    y = sum(a * np.sin(2 * np.pi * f * t) for a, f in partials)
    return (0.8 * env * y).astype(np.float32)


def click_track(bpm: float, sr: int = 22050, seconds: float = 10.0) -> np.ndarray:
    y = np.zeros(int(seconds * sr), np.float32)
    n = int(0.01 * sr)
    click = np.random.default_rng(0).standard_normal(n) * np.exp(-np.arange(n) / 50)
    for start in (np.arange(0, seconds, 60 / bpm) * sr).astype(int):
        seg = y[start : start + n]
        seg += 0.5 * click[: len(seg)].astype(np.float32)
    return y
