"""Every bound on what a user's file or value may cost, in one place (README's "Limits" table lists them).

Each constant bounds one thing a small hostile or careless input could make huge: bytes read, pixels
decoded, tensors allocated, passes run. A check refuses with an `InterpretError` that names the limit.
Other modules import the constants from here; none defines its own bound.
"""
from __future__ import annotations

import os


def seconds_bound(default: float, env: str) -> float:
    """A time bound: `default`, or the positive number of seconds in the environment variable `env` (tests lower
    a bound to meet a slow or hanging model quickly); an empty, unreadable, non-positive or NaN value keeps it."""
    text = os.environ.get(env, "")
    try:
        seconds = float(text) if text.strip() else default
    except ValueError:
        return default
    return seconds if seconds > 0 and seconds == seconds else default

# --- Images -------------------------------------------------------------------------------------------
# Bytes of one image file: a 50 MB file is far above any camera JPEG (10-20 MB for 50 MP) and is read
# into memory whole before decoding.
IMAGE_FILE_BYTES = 50 * 2**20

# Pixels an image may declare before it is decoded: 50 MP (RGB: 150 MB decoded). Pillow's own bomb guard
# only warns at 89 MP and refuses at 179 MP.
IMAGE_PIXELS = 50_000_000

# Long side over short side, checked on the declared size: 1x50000 PNGs of a few hundred bytes otherwise
# become 256 x 12.8 M images once the short side is scaled to 256. 20:1 still admits 360-degree panoramas
# (about 6:1 to 12:1) and receipts or scans of long strips.
IMAGE_ASPECT_RATIO = 20

# Pixels after preprocessing's resize (the short side scaled up or down to the model's resize size): at a
# 20:1 ratio and a 518 px resize (the largest timm/torchvision use) that is 5.4 MP; 8 MP leaves margin
# and keeps the resized RGB copy under 24 MB.
RESIZED_PIXELS = 8_000_000

# Side in pixels of a model input (the square crop) or of the resize before it: 8 px is below any
# classifier's smallest input (timm's tinynet_e: 106); 1024 px is the largest any zoo uses (timm's SAM and
# SAM2 encoders). A user's preprocessing (sidebar, CLI) is refused outside this range.
PREPROCESS_SIDE_MIN = 8
PREPROCESS_SIDE_MAX = 1024

# Largest magnitude a pixel in [0, 1] may take once normalised, (pixel - mean) / std computed in float32:
# ImageNet's mean/std give -2.1 to 2.6, pipelines fed 0-255 values (Caffe's mean subtraction, an image
# processor that does not rescale) 255 to 510; a mean of 1e308 or a std of 1e-300 gives inf or NaN in float32
# and every score NaN. A mean/std from the CLI, the sidebar or a model file is refused beyond it.
NORMALISED_PIXEL_MAX = 1e6

# Most pixels a JPEG may declare per byte of file: 1024. A JPEG codes every 8x8 block with at least one
# bit (progressive DC scan, 1-bit Huffman code): 512 pixels per byte at best, and Pillow's flat grey
# images measured 85 (baseline) and 250 (progressive) pixels per byte. A 7000x7000 JPEG of 10 KB
# (4 900 pixels per byte) is data that ends early, which libjpeg would pad with grey.
JPEG_PIXELS_PER_BYTE = 1024

# Most raw bytes a deflate-coded image (PNG) may declare per byte of file: deflate codes at most 1032
# bytes per byte (258-byte matches in 2 bits); 1100 leaves margin. Raw bytes count the rows' filter bytes.
DEFLATE_MAX_RATIO = 1100

# Most pixels a GIF may declare per byte: a 12-bit LZW code stands for at most 4096 pixels (2730 per
# byte); 3000 leaves margin.
GIF_PIXELS_PER_BYTE = 3000

# Most pixels a run-length BMP may declare per byte: one 2-byte run codes at most 255 pixels. Raw BMPs
# must hold every row. WEBP and TIFF rely on their decoders, which refuse data that ends early.
BMP_RLE_PIXELS_PER_BYTE = 128

# --- Models --------------------------------------------------------------------------------------------
# Classes a model's head may have: ImageNet-21k has 21 843; 100 000 keeps a 2048-wide head near 800 MB.
# A 36 KB state dict whose stride-0 head claims 2 M classes made a 4.5 GB model without it.
MAX_CLASSES = 100_000

# Boxes a detector may return for one image: torchvision's Faster R-CNN and FCOS keep at most 100, SSD 200,
# RetinaNet 300, DETR 100; 1000 leaves margin while every box stays a row a page can list and a target can pick.
MAX_DETECTIONS = 1000

# Bytes of one checkpoint file (state dict, safetensors, TorchScript): ViT-L/16 is 1.2 GB; 2 GB is held
# in memory with one copy while loading.
CHECKPOINT_BYTES = 2 * 2**30

# Sum of the storage bytes a checkpoint declares (torch zip's uncompressed record sizes, safetensors'
# header offsets), checked before anything is allocated: torch writes records stored, so this is close
# to the file size; a compressed record could otherwise inflate 1 MB into 1 GB inside torch.load.
CHECKPOINT_STORAGE_BYTES = 2 * 2**30

# Bytes one tensor of a checkpoint may claim (numel x element size): the largest tensor of common
# classifiers is a 21k-class head (21 843 x 1024 x 4 = 90 MB) or an embedding; 1 GB leaves room.
CHECKPOINT_TENSOR_BYTES = 2**30

# Bytes of a model's config.json (transformers' `hf:`, timm's `hf-hub:`), read and checked before transformers or
# timm parses it: a 21 843-class id2label is under 1 MB; 16 MB is room, and the JSON is parsed at once.
MODEL_CONFIG_BYTES = 16 * 2**20

# Parameters a model built from a config (`hf:`, `timm:hf-hub:`) may have, counted on torch's meta device (no
# memory) before it is built for real: ViT-H/14 has 632 M, timm's largest ImageNet classifiers about 1 B (4 GB in
# float32); a 1 KB config asking for 50 M labels (8 GB) or a 19 GB position table is refused with its count.
MODEL_PARAMETERS = 1_100_000_000

# Layers a config may declare, summed over its depth fields (num_hidden_layers, depths, ...), checked before any
# module is built (each layer is Python objects, even on the meta device): the deepest classifiers have about 100
# blocks (ResNet-152: 50, ViT-g: 40); 1 000 is room.
MODEL_CONFIG_LAYERS = 1_000

# Patches (tokens) a config's image_size / patch_size may give, checked before anything is built: attention costs
# tokens squared per head, so 1 024 px with 1 px patches (1 M tokens) would ask terabytes in the first pass; SAM's
# 1024 px / 16 is 4 096 and DINOv2's 518 / 14 is 1 369; 16 384 (1024 / 8) is room.
MODEL_CONFIG_TOKENS = 16_384

# --- Class-names files ----------------------------------------------------------------------------------
# Bytes of a class-names file (.txt or .json): MAX_CLASSES names of 60 characters with JSON quoting are
# about 7 MB; 16 MB is read whole and parsed at once, and a 10 M-line file is refused before it is split.
CLASS_NAMES_FILE_BYTES = 16 * 2**20

# Characters of one class name: the longest ImageNet name is 66 characters; a label is shown in tables,
# captions and the CSV, so 500 is room for any real name and bounds what one line can cost there.
CLASS_NAME_CHARS = 500

# Lines of a .txt class-names file, counted before it is split: twice MAX_CLASSES leaves a blank line
# between every two names; 10 M short lines (a 10-20 MB file) would otherwise become 10 M strings.
CLASS_NAMES_LINES = 2 * MAX_CLASSES

# Bytes all of a state dict's tensors may claim together (numel x element size, summed): tied weights
# (one storage seen by two names) claim a storage twice, so twice CHECKPOINT_STORAGE_BYTES; thousands of
# views of one storage, which a copy would each make real, stop here.
CHECKPOINT_CLAIMED_BYTES = 2 * CHECKPOINT_STORAGE_BYTES

# Levels of wrapping a checkpoint's weights may sit under ({"checkpoint": {"model": {"state_dict": ...}}}):
# real training scripts nest two or three deep; the bound stops a crafted pickle of 10 000 nested dicts.
CHECKPOINT_WRAPPER_DEPTH = 6

# Bytes of a safetensors header (JSON): the format's own reader refuses headers above 100 MB.
SAFETENSORS_HEADER_BYTES = 100_000_000

# --- Labelled sets (the Mistakes page) ----------------------------------------------------------------
# Files in one set (zip members or folder entries): 50 000 is an ImageNet validation set.
SET_MEMBERS = 50_000

# Inflated bytes of one zip member or folder file: the same as an image file.
SET_MEMBER_BYTES = IMAGE_FILE_BYTES

# Inflated bytes of a whole set, as declared by the zip or summed over a folder: 2 GB is about 18 000
# ImageNet validation JPEGs (110 KB each), read one file at a time.
SET_BYTES = 2 * 2**30

# Largest inflated/compressed ratio of a zip member bigger than ZIP_RATIO_MIN_BYTES: images are already
# compressed (JPEG/PNG members deflate 1.0-1.2x, a BMP or raw TIFF 2-10x, flat synthetic BMPs up to
# ~100x); a 4 MB zip inflating to 4 GB has ratios near 1000.
ZIP_COMPRESSION_RATIO = 200
# Members below this inflated size are not ratio-checked: a small flat image compresses well and costs
# nothing.
ZIP_RATIO_MIN_BYTES = 2**20

# Decoded pixels in one set, counted from the declared sizes in the images' headers before anything is
# decoded (and again as files are read): 1 gigapixel is 5 000 ImageNet-sized photos or 80 twelve-megapixel
# ones; a zip of 40 one-bit PNGs of 49 MP (240 KB, 1.96 GP) is refused at once. Larger sets: resize first.
SET_PIXELS = 1_000_000_000

# Bytes of a set's path,label CSV: 20 MB is several million rows.
CSV_BYTES = 20 * 2**20

# Characters in one CSV field (Python's csv default, 131 072): a field above it is refused by name and
# line rather than as csv.Error.
CSV_FIELD_CHARS = 131_072

# Directories a local folder walk may enter: bounds a walk over a huge tree (or a loop it cannot see).
FOLDER_DIRECTORIES = 10_000

# Levels of folders a local folder walk descends below the set's folder: class folders sit one level down, a
# data set's splits a few more; deeper folders are skipped and reported. The walk keeps its own stack (no
# recursion: a tree 1 100 levels deep broke Python's), so this bounds the paths it lists, not the stack.
FOLDER_DEPTH = 256

# --- Caches ---------------------------------------------------------------------------------------------
# Bytes of uploads held by the app's shared upload cache: 64 photos of 1600x1200 (decoded RGB, which Pillow
# keeps at 4 bytes a pixel: 7.7 MB each) are 490 MB; 256 MB bounds the cache by what it holds, not by count.
UPLOAD_CACHE_BYTES = 256 * 2**20
# Photos held by that cache, whatever their size: it is also where a reloaded page finds the photos its session had
# uploaded (by sha256, through the link's unguessable token), so it holds a few sessions' photos at once.
UPLOAD_CACHE_PHOTOS = 64
# Sessions whose list of uploaded photos is kept (a token in the link: ui/photo_links.py), least recently used
# dropped first: each list is up to UPLOAD_CACHE_PHOTOS names and digests (a few KB); a reload of an older link
# says that its photos could not be restored.
PHOTO_LINKS = 1024

# --- Methods ---------------------------------------------------------------------------------------------
# Forward (+ backward) passes of one image that one map may cost (the method's `passes(**params)`):
# Occlusion with window 32, stride 16 at 224 px is 170 (4 s on ResNet-18 here); IG's 1024 steps, RISE's
# default 1000 masks and Score-CAM on ResNet-50's 2048 channels stay under 5000; Occlusion with window 2,
# stride 1 (49 730 passes) or 20 000 RISE masks are refused before the first pass.
MAX_PASSES = 5_000

# Pixels one map's masked images may hold together (Occlusion, RISE, Score-CAM: its masked forwards x the input's
# H x W), checked with MAX_PASSES before the first pass: a forward's cost grows with its pixels, and Occlusion's
# default grid at 1024 px (3 970 passes of 1 MP) ran past 600 s. MAX_PASSES x 256 x 256 (328 M): every default at
# 224 px (Occlusion 8.5 M, RISE 50 M) and RISE's 1000 masks up to 572 px pass; at 1024 px a map may score 312 images.
MASKED_PIXELS = MAX_PASSES * 256 * 256

# Bytes of passes shared by several maps inside one `shared_passes()` block (attribution/passes.py): a
# CAM layer's activations and gradients (ResNet-50: 0.8 MB), an input gradient (0.6 MB at 224 px) and a
# SmoothGrad sum (1.2 MB) per image and target; 256 MB holds the passes of a whole page of maps.
PASS_CACHE_BYTES = 256 * 2**20

# Bytes the activations of one batched forward + backward may take (attribution/batch.py): the internal
# batch is this, or a quarter of the free memory if less, over the model's activation bytes per image
# (ResNet-50 at 224 px: about 0.3 GB per image with its backward), and at least one image.
BATCH_MEMORY_BYTES = 2 * 2**30

# Images (or noisy samples, path points) in one batched pass at most: beyond 64 a CPU gains nothing
# measurable per image, and a progress report comes after every batch.
MAX_BATCH_ROWS = 64

# --- Serving (the app) ------------------------------------------------------------------------------------
# Megabytes one upload may have: Streamlit's `server.maxUploadSize`, set to this number in
# .streamlit/config.toml (tests/test_policy.py checks they agree). Model files are the largest uploads,
# so it is CHECKPOINT_BYTES (2048 MB): a file the loader would refuse anyway is refused before it is sent.
# Image uploaders ask for IMAGE_FILE_BYTES per file on top of it (Streamlit's per-widget limit).
UPLOAD_MEGABYTES = CHECKPOINT_BYTES // 2**20

# Seconds a loaded model's first forward pass (a batch of 2 at its crop size) may take before the load is
# refused: the largest zoo models (ViT-H/14 at 518 px) take seconds on 2 CPU cores; a TorchScript forward
# that loops forever would otherwise hang the load.
FIRST_FORWARD_SECONDS = 60.0
# The environment variable that overrides FIRST_FORWARD_SECONDS with a number of seconds, read at every
# load (tests set it to a fraction of a second to refuse a slow model quickly).
FIRST_FORWARD_SECONDS_ENV = "INTERPRET_FIRST_FORWARD_SECONDS"

# Seconds a page waits for a loaded model to answer what it needs before it draws (a prediction, a map's default
# target, a measured pass behind an estimate): a pass takes well under a second on 2 CPU cores, 10-35 x that while
# another process uses them. Past it the page says in one line that the model has not answered, the work goes on in
# the background (one worker per model at most), and a rerun does not wait again for the same work. A background
# job that reports no progress for this long is counted as stalled (interpret/jobs.py).
MODEL_ANSWER_SECONDS = 15.0
# The environment variable that overrides MODEL_ANSWER_SECONDS with a number of seconds, read at every wait (tests
# set it to a second to meet a hanging model quickly).
MODEL_ANSWER_SECONDS_ENV = "INTERPRET_MODEL_ANSWER_SECONDS"

# --- Background jobs (interpret/jobs.py) -------------------------------------------------------------------
# Worker threads running jobs (maps, trust scores, feature visualisation) for every session together: two
# on a 2-core machine let one slow map run while the quick ones finish beside it; more would only share the
# same cores (torch already uses several threads per pass).
JOB_WORKERS = 2
# Threads one job store may hold, stalled ones included: a job that reports no progress for MODEL_ANSWER_SECONDS
# (a model that hangs) keeps its thread, which cannot be killed, and the store starts another in its place, so a hung
# model does not take the workers from everyone else; past this many, queued jobs wait and their placeholders say why.
JOB_THREADS_MAX = 8
# Finished jobs kept for every session, least recently used dropped first: a page of 20 maps for a dozen
# photos and settings; each map's values are also kept in the map store (ui/maps.py).
JOBS_KEPT = 256
# Bytes of finished results kept (each job says its result's size): 224 px float32 maps are 0.2 MB, a
# feature visualisation a few MB; 256 MB bounds what a long session's jobs hold.
JOBS_KEPT_BYTES = 256 * 2**20
# Seconds the process waits at exit for its background work (jobs, cancelled, stop after their current unit;
# a model's first forward pass) to end: a thread still inside torch when the interpreter finalises would abort
# the process; work still running after it ends the process with the script's own status (interpret/shutdown.py).
JOB_EXIT_SECONDS = 10.0
# Seconds a map's estimate (its passes x the measured time of one pass) may reach before the page waits
# for an explicit Compute click: a first view of quick maps stays quick; Score-CAM over 1280 channels or a
# fine Occlusion grid is started only when asked for.
AUTO_COMPUTE_SECONDS = 20.0
# Seconds between refreshes of a page while its jobs run: progress and newly finished maps appear within
# this delay, without rerunning the page.
JOB_REFRESH_SECONDS = 1.0
# Seconds a page's run waits for its quick jobs before it draws: maps done by then appear in the first paint
# without a flicker of progress bars; slower ones get a placeholder and appear as they finish.
FIRST_PAINT_SECONDS = 2.0

# Bytes one batch of masked images may take in a forward-only pass (Score-CAM, Occlusion, RISE): each
# row is costed at FORWARD_EXPANSION x its input bytes (ResNet-50's widest output at 224 px is 5 x the
# input, and an inference forward keeps its input, output and a residual alive), so 1 GB is 27 rows at
# 224 px; on a GPU a quarter of the free memory if less.
MASKED_BATCH_BYTES = 2**30

# Working bytes of one masked image in an inference forward, as a multiple of its input's bytes: 64 is
# 12 x ResNet-50's widest activation at 224 px, room for wider nets (EfficientNet's 6 x expansions).
FORWARD_EXPANSION = 64

# Masked images in one forward at most: a CPU gains nothing measurable per image beyond 32 (Score-CAM
# on EfficientNet-Lite0: 16 and 32 rows cost the same per image) and a GPU little beyond 128.
MAX_MASKED_ROWS = 128

# --- Dataset runs (interpret/dataset/, `interpret explain-set`) --------------------------------------------
# Images in one dataset listing: the listing itself (ids, paths, labels) is held in memory, about 200 bytes an
# image; 10 M is ImageNet's training set eight times over. Each image is bounded like an upload when read.
DATASET_IMAGES = 10_000_000
# Images in one shard of a dataset store: a shard is the unit written atomically and skipped on resume, so a run
# killed at any moment loses at most the shards in flight (64 images of Integrated Gradients: about a minute on
# 2 CPU cores); its rows (a 56 x 56 float16 map each) stay under a few MB.
DATASET_SHARD_IMAGES = 64
# Side of the low-resolution map stored in every row (float16): 56 x 56 is 6 KB, a quarter of a 224 px input.
DATASET_MAP_SIDE = 56
# Maps clustered at once on the Dataset page's Strategies (k-means or spectral clustering of one class's maps at
# 14 x 14): above it the clusters are fitted on a seeded sample of this many and every map joins its nearest centre
# (spectral clustering's graph grows with the square of the rows; k-means on 20 000 maps takes about a second).
DATASET_CLUSTER_ROWS = 20_000
# Images of the Mistakes page's set that the Dataset page explains in the app (its store kept in a temporary
# folder): a bigger set is explained with `interpret explain-set` and its store opened by path.
DATASET_APP_IMAGES = 5_000
# Channels of the layer a dataset run keeps per image (`--channels LAYER`: each channel's maximum, float32): 4096
# is twice ResNet-50's widest layer, 16 KB an image; the channel's maps are not stored, the Dataset page computes
# them again for the few images it shows (DATASET_CHANNEL_IMAGES).
DATASET_CHANNELS = 4_096
# Images the Dataset page's channel examples show for one channel (its top images by that channel's maximum): their
# maps come from one forward pass of this many images (EfficientNet-Lite0 at 224 px: about 1 s for 16 on 2 busy CPU
# cores), computed when the channel is shown.
DATASET_CHANNEL_IMAGES = 16

# --- Reports and exports (interpret/report/, `interpret report`, the pages' Report button) -------------------
# Side in pixels of an exported map picture (a map PNG for a slide, the maps of a report's zip): up to the photo's
# own resolution, and never above 4096 (a 4096 x 4096 RGB picture is 50 MB before PNG coding; a slide shows 2000).
EXPORT_SIDE_MAX = 4_096
# Maps in one report: a grid of 8 photos by 16 methods; each map is a PNG in the HTML (about 100 KB at 224 px), so a
# report stays a file one can mail. A page showing more says that the rest were left out.
REPORT_MAPS = 128
