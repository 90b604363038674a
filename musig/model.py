"""The MUSIG encoder: GraphSAGE over the track graph, one aggregator per edge relation.

A track's embedding is computed from its own inputs (audio features, plus a learnable vector for
tracks with playlist history) and the sampled neighbourhood in each relation (co-occurrence,
acoustic kNN). Because nothing is looked up by a fixed node id alone, a track unseen in training —
an uploaded file attached to the graph by its acoustic neighbours — is embedded by the same forward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import SAGEConv


class MusigEncoder(nn.Module):
    """Relation-wise GraphSAGE encoder.

    Args:
        in_channels: width of the content input (0 disables the audio input).
        hidden_channels: width of hidden layers.
        out_channels: embedding width.
        num_layers: message-passing layers (>= 1).
        relations: edge relation names, e.g. ``("cooc", "acoustic")``.
        num_nodes: size of the learnable per-track table (0 disables it).
        num_artists: size of the learnable per-artist table (0 disables it): a track with a known
            artist adds its artist's vector, so rare and new tracks borrow from the artist's
            other tracks.
        aggr: neighbourhood aggregator of every SAGEConv ("mean", "max", "sum").
        dropout: dropout on hidden activations.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int,
        out_channels: int,
        num_layers: int,
        relations: tuple[str, ...],
        num_nodes: int = 0,
        num_artists: int = 0,
        aggr: str = "mean",
        dropout: float = 0.0,
    ):
        super().__init__()
        if in_channels <= 0 and num_nodes <= 0:
            raise ValueError("the encoder needs audio features, per-track vectors, or both")
        self.relations = tuple(relations)
        self.dropout = dropout
        self.content_in = (
            nn.Sequential(
                nn.Linear(in_channels + 1, hidden_channels),
                nn.GELU(),
                nn.Linear(hidden_channels, hidden_channels),
            )
            if in_channels > 0
            else None
        )
        # Sparse gradients: a step touches the batch's rows only (musig.train's LazyAdam).
        self.track_emb = (
            nn.Embedding(num_nodes, hidden_channels, sparse=True) if num_nodes > 0 else None
        )
        if self.track_emb is not None:
            nn.init.normal_(self.track_emb.weight, std=0.1)
        self.artist_emb = (
            nn.Embedding(num_artists, hidden_channels, sparse=True) if num_artists > 0 else None
        )
        if self.artist_emb is not None:
            nn.init.normal_(self.artist_emb.weight, std=0.1)
        dims = [hidden_channels] * num_layers + [out_channels]
        self.self_lins = nn.ModuleList(nn.Linear(dims[i], dims[i + 1]) for i in range(num_layers))
        # root_weight=False: the self term is shared across relations (self_lins), not repeated.
        self.convs = nn.ModuleList(
            nn.ModuleDict(
                {
                    r: SAGEConv(dims[i], dims[i + 1], aggr=aggr, root_weight=False, bias=False)
                    for r in self.relations
                }
            )
            for i in range(num_layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(dims[i + 1]) for i in range(num_layers - 1))

    def input(
        self,
        x: Tensor | None,
        has_x: Tensor,
        n_id: Tensor,
        has_id: Tensor,
        artist: Tensor | None = None,
    ) -> Tensor:
        """Node inputs.

        Args:
            x: float (n, F) scaled content features (rows of tracks without audio are zero).
            has_x: bool (n,) content features present.
            n_id: int64 (n,) global track ids, indexes the per-track table.
            has_id: bool (n,) use the per-track vector (tracks with history, not dropped).
            artist: int64 (n,) artist ids, -1 unknown (uploads, missing names).
        Returns:
            float (n, hidden_channels)
        """
        h = 0.0
        if self.content_in is not None:
            h = self.content_in(torch.cat([x * has_x[:, None], has_x[:, None].float()], dim=1))
        if self.track_emb is not None:
            h = h + self.track_emb(n_id) * has_id[:, None]
        if self.artist_emb is not None and artist is not None:
            h = h + self.artist_emb(artist.clamp(min=0)) * (artist >= 0)[:, None]
        return h

    def forward(
        self, h: Tensor, edge_index: dict[str, Tensor], hop_ptr: tuple[int, ...] | None = None
    ) -> Tensor:
        """Embed the nodes of a sampled subgraph.

        Args:
            h: float (n, hidden_channels) node inputs from :meth:`input`.
            edge_index: relation -> int64 (2, E) local ids, row 0 source, row 1 target.
            hop_ptr: ``Subgraph.hop_ptr``. When given, layer ``i`` of ``L`` computes only the
                nodes within ``L-1-i`` hops of the seeds, all the seeds' output depends on, and
                only the seeds are returned (PyG's ``trim_to_layer``): a 2-layer step then costs
                about half as much. Without it every node is computed.
        Returns:
            float (n or number of seeds, out_channels), L2-normalised rows.
        """
        num_layers = len(self.self_lins)
        for i, self_lin in enumerate(self.self_lins):
            keep = num_layers - 1 - i  # hops whose nodes later layers still read
            n_out = hop_ptr[keep + 1] if hop_ptr and keep + 1 < len(hop_ptr) else h.shape[0]
            out = self_lin(h[:n_out])
            for r, conv in self.convs[i].items():
                if r in edge_index:
                    ei = edge_index[r]
                    if n_out < h.shape[0]:
                        ei = ei[:, ei[1] < n_out]  # edges into the kept nodes: hops <= keep + 1
                    out = out + conv((h, h[:n_out]), ei)
            if i < num_layers - 1:
                out = F.gelu(self.norms[i](out))
                out = F.dropout(out, p=self.dropout, training=self.training)
            h = out
        return F.normalize(h, dim=-1)


class GenreHead(nn.Module):
    """Linear genre classifier on the (normalised) embedding; the stylistic task."""

    def __init__(self, in_channels: int, num_genres: int):
        super().__init__()
        self.lin = nn.Linear(in_channels, num_genres)

    def forward(self, z: Tensor) -> Tensor:
        return self.lin(z)
