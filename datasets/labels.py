"""Label sets of the photo <-> label experiments (Table 8.1): class names, colour palettes, void colours.

A label map on disk is an RGB image; the FCN-score and the FCN trainer need class ids. Real
label files are exact palette colours (CMP facades) or JPEG-compressed ones (the pix2pix Cityscapes
JPEGs); generated label images are anything. ``colors_to_ids`` maps all three the same way: every
pixel takes the nearest colour, and the candidate colours include the dataset's void colours so that
an unlabelled pixel does not become its nearest class.

Ids are 0-based and contiguous. For the facades, id k is CMP class k + 1 (the CMP README numbers its
classes 1..12). For Cityscapes, ids are the 19 train ids; every other Cityscapes class is void.
"""
import dataclasses

import numpy as np

from datasets.files import DataError
from datasets.synthetic_facades import CMP_CLASSES, CMP_PALETTE

IGNORE_ID = 255  # the Cityscapes convention; also what the FCN-score skips in the ground truth
# RGB distance within which a pixel counts as a palette (or void) colour in ``palette_share``: wide
# enough for JPEG-compressed label files, far narrower than the gaps between palette colours.
PALETTE_TOLERANCE = 20
_BOX_SHIFT = 3  # colors_to_ids' table: 32 boxes of 8 values per channel


def _frozen(array):
    array = np.array(array, dtype=np.uint8).reshape(-1, 3)
    array.setflags(write=False)
    return array


@dataclasses.dataclass(frozen=True, eq=False)
class LabelSet:
    """One dataset's classes. ``palette[k]`` is the RGB colour of class id k; pixels nearest one of
    ``void_colors`` are labelled ``ignore_id``. Compared by identity (the fields hold arrays)."""

    name: str
    class_names: tuple
    palette: np.ndarray
    void_colors: np.ndarray = dataclasses.field(default_factory=lambda: _frozen([]))
    ignore_id: int = IGNORE_ID

    def __post_init__(self):
        object.__setattr__(self, "class_names", tuple(self.class_names))
        object.__setattr__(self, "palette", _frozen(self.palette))
        object.__setattr__(self, "void_colors", _frozen(self.void_colors))
        if len(self.class_names) != len(self.palette):
            raise ValueError(f"label set {self.name}: {len(self.class_names)} names but "
                             f"{len(self.palette)} colours")
        if not len(self.palette) <= self.ignore_id <= 255:
            raise ValueError(f"label set {self.name}: ignore_id {self.ignore_id} must lie in "
                             f"[{len(self.palette)}, 255] (uint8, not a class id)")
        # Candidate colours for the nearest-colour rule: classes first, so an exact tie between a
        # class colour and a void colour (Cityscapes (0, 0, 80): truck or caravan) goes to the class.
        colors = np.concatenate([self.palette, self.void_colors]).astype(np.float32)
        ids = np.concatenate([np.arange(len(self.palette)),
                              np.full(len(self.void_colors), self.ignore_id)]).astype(np.uint8)
        object.__setattr__(self, "_colors", colors)
        object.__setattr__(self, "_color_ids", ids)
        values = np.arange(256, dtype=np.int32)[:, None]
        object.__setattr__(self, "_channel_sq", [(values - c.astype(np.int32)) ** 2
                                                 for c in colors.T])  # 3 x (256, C)
        object.__setattr__(self, "_table", None)  # built on first use by colors_to_ids

    @property
    def num_classes(self):
        return len(self.palette)


FACADES = LabelSet("facades", CMP_CLASSES, CMP_PALETTE)

CITYSCAPES = LabelSet(
    "cityscapes",
    ("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign",
     "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle",
     "bicycle"),
    [(128, 64, 128), (244, 35, 232), (70, 70, 70), (102, 102, 156), (190, 153, 153),
     (153, 153, 153), (250, 170, 30), (220, 220, 0), (107, 142, 35), (152, 251, 152),
     (70, 130, 180), (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100),
     (0, 80, 100), (0, 0, 230), (119, 11, 32)],
    # Every distinct colour of a Cityscapes class outside the 19 train ids (polegroup and licence
    # plate share the colours of pole and car, which keep their class).
    void_colors=[(0, 0, 0), (111, 74, 0), (81, 0, 81), (250, 170, 160), (230, 150, 140),
                 (180, 165, 180), (150, 100, 100), (150, 120, 90), (0, 0, 90), (0, 0, 110)],
)

LABEL_SETS = {"facades": FACADES, "cityscapes": CITYSCAPES}


def get_label_set(name):
    """The LabelSet called ``name``; a DataError listing the known names otherwise."""
    if name not in LABEL_SETS:
        raise DataError(f"unknown label set {name!r}; known: {', '.join(LABEL_SETS)}")
    return LABEL_SETS[name]


def _nearest(pixels, label_set):
    """Exact nearest-colour ids of (P, 3) uint8 pixels (argmin keeps the lowest index on ties).
    |x - c|^2 is summed from per-channel tables of (v - c)^2, which numpy gathers much faster than
    it multiplies a (P, 3) by a (3, C) matrix."""
    sq = label_set._channel_sq
    distances = sq[0][pixels[:, 0]] + sq[1][pixels[:, 1]] + sq[2][pixels[:, 2]]
    return label_set._color_ids[np.argmin(distances, axis=1)]


def _box_table(label_set):
    """int16 table over the 32^3 boxes of 8x8x8 RGB values: the id of the one colour nearest to
    EVERY point of the box, or -1 when two colours could compete there (the box is then resolved
    per pixel). A colour can be nearest somewhere in a box only if its distance to the box is at
    most the smallest farthest-distance of any colour; a box with one such colour is decided."""
    if label_set._table is None:
        colors = label_set._colors
        lo = np.arange(0, 256, 1 << _BOX_SHIFT, dtype=np.float32)[:, None]
        hi = lo + (1 << _BOX_SHIFT) - 1
        near = [np.maximum(np.maximum(lo - c, c - hi), 0) ** 2 for c in colors.T]  # (boxes, C)
        far = [np.maximum(np.abs(lo - c), np.abs(hi - c)) ** 2 for c in colors.T]
        d_min = near[0][:, None, None] + near[1][None, :, None] + near[2][None, None, :]
        d_max = far[0][:, None, None] + far[1][None, :, None] + far[2][None, None, :]
        candidates = d_min <= d_max.min(-1, keepdims=True)
        ids = label_set._color_ids.astype(np.int16)[candidates.argmax(-1)]
        table = np.where(candidates.sum(-1) == 1, ids, np.int16(-1))
        object.__setattr__(label_set, "_table", table.ravel())
    return label_set._table


def colors_to_ids(rgb, label_set):
    """Class ids (uint8, shape ``rgb.shape[:-1]``) of an RGB label image, ``(..., 3)``, values 0-255.

    Rule: each pixel takes the id of the nearest colour (Euclidean distance in RGB) among the K class
    colours and the void colours; a pixel nearest a void colour gets ``label_set.ignore_id``. Exact
    ties go to the class (the lowest id). The same rule serves lossless files, JPEG-compressed files
    and generated label images, so no threshold is needed and every pixel gets an answer (float
    input on the 0-255 scale is rounded first; [-1, 1] or [0, 1] floats are refused).
    For speed most pixels are answered by a table of 8x8x8 colour boxes whose nearest colour is the
    same throughout (built once per label set); only pixels in boxes that straddle a boundary are
    computed one by one. The result equals the brute-force rule exactly.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim < 2 or rgb.shape[-1] != 3:
        raise DataError(f"colors_to_ids needs an RGB image (..., 3), got shape {rgb.shape}")
    if rgb.dtype != np.uint8 and rgb.size:
        lo, hi = rgb.min(), rgb.max()
        if lo < 0 or hi > 255 or (hi <= 1 and np.issubdtype(rgb.dtype, np.floating)):
            raise DataError(f"colors_to_ids needs values in 0..255, got [{lo}, {hi}] "
                            "(scale [-1, 1] or [0, 1] images to 0..255 first)")
        rgb = np.rint(rgb).astype(np.uint8)
    pixels = rgb.reshape(-1, 3)
    boxes = pixels >> _BOX_SHIFT
    bits = 8 - _BOX_SHIFT
    index = (boxes[:, 0].astype(np.int32) << 2 * bits) | (boxes[:, 1].astype(np.int32) << bits) \
        | boxes[:, 2]
    ids = _box_table(label_set)[index]
    undecided = ids < 0
    if undecided.any():
        ids[undecided] = _nearest(pixels[undecided], label_set)
    return ids.astype(np.uint8).reshape(rgb.shape[:-1])


def palette_share(rgb, label_set, tolerance=PALETTE_TOLERANCE):
    """The share of the pixels of a uint8 RGB image within ``tolerance`` (Euclidean, 0-255) of one
    of the label set's class or void colours: about 1 for its label maps, low for photos and for
    the label maps of another label set."""
    pixels = np.asarray(rgb, np.int32).reshape(-1, 3)
    if not len(pixels):
        return 0.0
    colors = label_set._colors.astype(np.int32)
    distances = ((pixels[:, None, :] - colors[None]) ** 2).sum(-1).min(1)
    return float((distances <= tolerance * tolerance).mean())


def ids_to_colors(ids, label_set):
    """RGB uint8 image ``(..., 3)`` of class ids; ``ignore_id`` becomes black (0, 0, 0)."""
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise DataError(f"ids_to_colors needs integer ids, got {ids.dtype}")
    table = np.zeros((256, 3), np.uint8)
    table[:label_set.num_classes] = label_set.palette
    valid = (ids >= 0) & ((ids < label_set.num_classes) | (ids == label_set.ignore_id))
    if not valid.all():
        bad = np.unique(ids[~valid])[:5].tolist()
        raise DataError(f"ids_to_colors: ids {bad} are neither classes of {label_set.name} "
                        f"(0..{label_set.num_classes - 1}) nor its ignore id {label_set.ignore_id}")
    return table[ids]
