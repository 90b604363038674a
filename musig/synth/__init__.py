"""A synthetic music world: a catalog with latent tastes, rendered audio and MPD-style playlists.

Real playlists (the Million Playlist Dataset) cannot be shipped and no audio API is open, so musig
generates its own world. Every track has a latent vector ``z`` (``latent_dim``) = genre centre +
artist offset + track noise. Only the first ``audible_dims`` coordinates reach the audio renderer
(``AUDIBLE_DIMS``: tempo, brightness, mode, grit, sustain, drums, register, width), on top of a
per-genre style (drum pattern, comping, progressions, instrument) that artists sometimes borrow
from other genres. The other coordinates ("scene", "era", social context) are never rendered:
only playlist co-occurrence, and weakly the genre label, reveals them.

A playlist draws a taste from one or two "scenes" and samples tracks without replacement with
probability ∝ popularity**a * exp(b cos(taste, z)). Co-occurrence therefore carries what audio
cannot, while audio still describes tail tracks and cold tracks (popularity 0, in no playlist)
that co-occurrence barely sees.

Everything is a pure function of :class:`WorldConfig`: ``world.json`` stores only the config, and
:func:`render_track` re-derives any track's audio from it.

:mod:`musig.synth.world` holds the config and the hidden truth (latents, names, playlists),
:mod:`musig.synth.render` a track's audio and :mod:`musig.synth.generate` the dataset folder.

The MPD profile (``generate --profile mpd``) is the same model at the Million Playlist Dataset's
scale and long tail: :mod:`musig.synth.mpd` (config, universe of tracks), ``mpd_sample``
(playlists), ``mpd_features`` (a calibrated content table instead of audio), ``mpd_names``,
``mpd_write`` (the folder) and ``mpd_oracle`` (the generator's own log-probabilities);
:mod:`musig.synth.oracle` gives those of either profile (the ceiling of every table).
"""

from musig.synth.generate import generate_world
from musig.synth.mpd import MpdConfig, mpd_config
from musig.synth.mpd_write import generate_mpd_world
from musig.synth.oracle import log_probs
from musig.synth.render import render_track
from musig.synth.world import WorldConfig, WorldTruth, world_config, world_summary, world_truth

__all__ = [
    "MpdConfig",
    "WorldConfig",
    "WorldTruth",
    "generate_mpd_world",
    "generate_world",
    "log_probs",
    "mpd_config",
    "render_track",
    "world_config",
    "world_summary",
    "world_truth",
]
