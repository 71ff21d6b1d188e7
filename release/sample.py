"""A small release archive in the official Med-CMR layout, made from real medical images.

The real release cannot be downloaded on test machines, so tests, the Space's default run and
new users work on this sample. Its images are real medical images that ship inside registry
packages (pydicom-data, pydicom, scikit-image), converted to PNG; its questions were written for
this kit and are marked "[Sample]": they are not Med-CMR benchmark items. The archive is
byte-for-byte deterministic (fixed timestamps, sorted entries, deterministic PNG encoding).
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, PngImagePlugin

from core.files import atomic_write
from core.vocabulary import LETTERS
from release.reader import SAMPLE_SOURCES

SAMPLE_MARK = "[Sample] "
MAX_SIDE = 384
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class SampleImage:
    """One real image: where it ships, under which licence, and how to show it."""

    name: str
    package: str
    file: str
    licence: str
    modality: str
    organ_system: str
    description: str
    window: tuple[float, float] | None = None  # (centre, width) after the modality LUT

    def path(self) -> Path:
        if self.package == "pydicom-data":
            import data_store

            return Path(data_store.__file__).parent / "data" / self.file
        if self.package == "pydicom":
            from pydicom.data import get_testdata_file

            return Path(get_testdata_file(self.file))
        import skimage

        return Path(skimage.__file__).parent / "data" / self.file


IMAGES = {image.name: image for image in (
    SampleImage("chest_xray_pa", "pydicom-data", "RG1_UNCI.dcm", "MIT", "X-ray", "Respiratory",
                "Posteroanterior chest radiograph (computed radiography, MONOCHROME1)."),
    SampleImage("tibia_xray_ap", "pydicom-data", "RG3_UNCI.dcm", "MIT", "X-ray", "Musculoskeletal",
                "AP radiograph of the lower leg; study described as non-ossifying fibroma of distal tibia."),
    SampleImage("shoulder_mri_t1", "pydicom-data", "MR2_UNCI.dcm", "MIT", "MRI", "Musculoskeletal",
                "Coronal T1-weighted spin-echo MR image of the shoulder."),
    SampleImage("liver_mri_t1_fs", "pydicom-data", "MR-SIEMENS-DICOM-WithOverlays.dcm", "MIT", "MRI",
                "Digestive", "Axial contrast-enhanced fat-suppressed T1 (VIBE) MR of the upper abdomen "
                "with a marked liver lesion."),
    SampleImage("head_ct_plain", "pydicom-data", "693_UNCI.dcm", "MIT", "CT", "Nervous",
                "Axial non-contrast head CT, 5 mm, wide (bone) window.", window=(0.0, 2000.0)),
    SampleImage("lymph_node_us_doppler", "pydicom-data", "US1_UNCI.dcm", "MIT", "Ultrasound", "Lymphatic",
                "Power Doppler ultrasound of a lymph node."),
    SampleImage("retina_fundus_left", "scikit-image", "retina.jpg", "CC0-1.0", "Fundus photography", "Visual",
                "Fundus photograph of a normal left eye (Wikimedia Commons, CC0)."),
    SampleImage("colon_ihc", "scikit-image", "ihc.png", "No known copyright restrictions (scikit-image: BSD-3-Clause)",
                "Histopathology", "Digestive",
                "Colonic glands, immunohistochemistry for FHL2 (DAB) with hematoxylin counterstain."),
)}

CDS, DX, PA, PRA, SEE, TRE = ("Clinical Decision Support", "Diagnosis", "Pathophysiologic Analysis",
                              "Procedural Risk Assessment", "Staging and Extent Evaluation",
                              "Treatment Response Evaluation")

# (task, image, subtype, question type, question, options A-E, answer letter, visual description)
MCQ = (
    ("Small-object Detection", "retina_fundus_left", "Anatomical landmark", DX,
     "What is the small, bright, round structure from which the retinal vessels radiate?",
     ("Macula", "Optic disc", "Fovea", "Drusen", "Cotton-wool spot"), "B",
     "A bright yellow-orange round structure at the left of the fundus, where the vessel arcades emerge."),
    ("Small-object Detection", "lymph_node_us_doppler", "Flow signal", PA,
     "What do the small orange-red foci inside the oval structure represent?",
     ("Calcifications", "Doppler flow signal in vessels", "Gas bubbles", "Acoustic shadowing",
      "Reverberation artefact"), "B",
     "An oval hypoechoic structure containing scattered orange-red colour foci in a Doppler box."),
    ("Small-object Detection", "tibia_xray_ap", "Side marker", PRA,
     "A small lead side marker is placed beside the distal leg. Which letter does it show?",
     ("L", "R", "A", "P", "No marker is present"), "B",
     "A small radiopaque letter R, displayed mirrored, lateral to the distal lower leg."),
    ("Fine-detail Discrimination", "colon_ihc", "Staining pattern", PA,
     "What does the brown colour in this tissue section indicate?",
     ("Eosin staining", "DAB-labelled antibody binding", "Haemosiderin", "Melanin", "Bile pigment"), "B",
     "Brown granular chromogen in glandular epithelium over a blue-purple counterstained background."),
    ("Fine-detail Discrimination", "colon_ihc", "Counterstain", DX,
     "Which stain most likely gives the blue-purple nuclear colour?",
     ("Hematoxylin", "Eosin", "Silver", "Congo red", "Periodic acid-Schiff"), "A",
     "Blue-purple nuclei throughout the section, not overlapping the brown chromogen."),
    ("Fine-detail Discrimination", "lymph_node_us_doppler", "Imaging technique", CDS,
     "Which ultrasound mode displays the flow information in this image?",
     ("B-mode only", "M-mode", "Colour or power Doppler", "Elastography", "Contrast-enhanced ultrasound"), "C",
     "A grey-scale image with an overlaid colour box showing orange flow signal."),
    ("Spatial Understanding", "chest_xray_pa", "Laterality", DX,
     "On this posteroanterior chest radiograph, on which side of the image is the cardiac apex?",
     ("Image left", "Image right", "Centre", "Not visible", "Both sides"), "B",
     "The cardiac silhouette extends to the image right, which is the patient's left."),
    ("Spatial Understanding", "retina_fundus_left", "Laterality", DX,
     "Judging by the position of the optic disc relative to the macula, which eye is shown?",
     ("Right eye", "Left eye", "Cannot be determined", "Both eyes", "An artificial eye"), "B",
     "The optic disc lies at the image left (nasal) and the macula at the centre."),
    ("Spatial Understanding", "tibia_xray_ap", "Anatomical orientation", SEE,
     "Which end of the tibia is at the bottom of this AP radiograph?",
     ("Proximal end near the knee", "Distal end near the ankle", "Mid-shaft only",
      "Neither; it shows the femur", "Neither; it shows the radius"), "B",
     "The bottom of the image shows the distal tibia and the ankle joint."),
    ("Temporal Prediction", "tibia_xray_ap", "Natural history", TRE,
     "The study is reported as a non-ossifying fibroma of the distal tibia. What is its usual course?",
     ("Malignant transformation within months", "Spontaneous sclerotic healing with skeletal maturity",
      "Rapid growth with metastases", "Conversion to osteosarcoma", "Always requires amputation"), "B",
     "An eccentric, well-defined lucent metaphyseal lesion with a sclerotic margin."),
    ("Temporal Prediction", "liver_mri_t1_fs", "Dynamic imaging", TRE,
     "This image belongs to a dynamic contrast-enhanced T1 series. What does such a series follow over time?",
     ("Enhancement of tissue after contrast injection", "Patient growth", "Radiation dose",
      "Tumour doubling time", "The cardiac cycle"), "A",
     "Fat-suppressed T1 image with bright vessels and kidneys, consistent with a post-contrast phase."),
    ("Temporal Prediction", "lymph_node_us_doppler", "Follow-up", TRE,
     "If this node is reactive, what is expected on follow-up after the infection resolves?",
     ("Decrease in size and flow", "Dense calcification", "Progressive enlargement", "Central necrosis",
      "Capsular rupture"), "A",
     "An oval lymph node with hilar-type Doppler flow."),
    ("Causal Reasoning", "head_ct_plain", "Physical basis", PA,
     "Why does the skull appear white on this CT image?",
     ("High X-ray attenuation of dense bone", "Injected contrast agent", "Motion artefact",
      "Calcified haemorrhage", "A metal implant"), "A",
     "A continuous bright ring of calvarium around grey brain parenchyma."),
    ("Causal Reasoning", "chest_xray_pa", "Physical basis", PA,
     "Why do the lungs appear dark on this radiograph?",
     ("Air attenuates X-rays weakly", "The lungs contain contrast", "The film was underexposed",
      "Fat fills the lungs", "Bone overlies the lungs"), "A",
     "Both lung fields are darker than the mediastinum, diaphragm and ribs."),
    ("Causal Reasoning", "liver_mri_t1_fs", "Sequence effect", PA,
     "Why is subcutaneous fat dark on this 'fs' T1 image?",
     ("A fat-suppression pulse", "Contrast washout", "Iron deposition", "Patient motion", "A metal implant"), "A",
     "Subcutaneous and intra-abdominal fat are dark while enhancing organs are bright."),
    ("Long-tail Generalization", "tibia_xray_ap", "Rare bone lesion", DX,
     "An eccentric, well-defined lucent lesion with a sclerotic rim in the distal tibial metaphysis of a "
     "young patient is most consistent with:",
     ("Osteosarcoma", "Non-ossifying fibroma", "Ewing sarcoma", "Osteomyelitis", "Multiple myeloma"), "B",
     "A lucent, sclerotic-rimmed metaphyseal lesion of the distal tibia."),
    ("Long-tail Generalization", "retina_fundus_left", "Normal variant", DX,
     "This fundus photograph is of a normal eye. Which finding fits?",
     ("Optic disc swelling", "Sharp disc margins with normal vessels", "Flame haemorrhages",
      "Cherry-red spot", "Neovascularisation"), "B",
     "A well-defined optic disc, normal-calibre vessels and a uniform orange background."),
    ("Long-tail Generalization", "colon_ihc", "Tissue identification", SEE,
     "Which tissue structures are shown in this section?",
     ("Colonic glands (crypts)", "Renal glomeruli", "Hepatic lobules", "Pulmonary alveoli",
      "Thyroid follicles"), "A",
     "Tubular glands lined by columnar epithelium in a cellular stroma."),
    ("Multi-source Integration", "liver_mri_t1_fs", "Clinical context", CDS,
     "A 58-year-old man received 11 ml of a gadolinium agent before this MRI. Which series is this?",
     ("Non-contrast T2-weighted", "Contrast-enhanced fat-suppressed T1", "Diffusion-weighted",
      "Brain MR angiography", "Non-contrast CT"), "B",
     "Axial abdominal image with suppressed fat and bright enhancing vessels and kidneys."),
    ("Multi-source Integration", "chest_xray_pa", "Acquisition", PRA,
     "The header says 'PA'. Combined with the image, in which direction did the X-ray beam travel?",
     ("Posterior to anterior", "Anterior to posterior", "Left to right", "Oblique", "Cranio-caudal"), "A",
     "A frontal chest radiograph with the scapulae projected away from the lungs."),
    ("Multi-source Integration", "shoulder_mri_t1", "Sequence and anatomy", CDS,
     "The protocol is 'T1W/SE'. Which tissue is brightest in this shoulder image?",
     ("Fat and fatty marrow", "Cortical bone", "Tendons", "Air", "Muscle"), "A",
     "Bright subcutaneous fat and humeral marrow; dark cortex and tendons."),
)

# (task, image, subtype, question type, question, answer, visual description)
OPEN = (
    ("Small-object Detection", "liver_mri_t1_fs", "Focal lesion", DX,
     "What focal abnormality is marked in this contrast-enhanced abdominal MR image?",
     "A focal liver lesion.",
     "A rounded focal lesion in the liver, distinct from the surrounding parenchyma."),
    ("Small-object Detection", "retina_fundus_left", "Anatomical landmark", DX,
     "Name the darker spot at the centre of this fundus photograph.",
     "The macula (fovea).",
     "A darker round area at the image centre, temporal to the optic disc, free of large vessels."),
    ("Fine-detail Discrimination", "shoulder_mri_t1", "Sequence weighting", DX,
     "Judging by the signal of fat, what weighting does this shoulder MR image have?",
     "T1-weighted.",
     "Subcutaneous fat and marrow are bright; fluid-containing structures are dark."),
    ("Fine-detail Discrimination", "head_ct_plain", "Bone", DX,
     "What is the thin, very bright ring surrounding the brain on this CT image?",
     "The skull (calvarium).",
     "A continuous bright ring of high attenuation around uniformly grey intracranial contents."),
    ("Spatial Understanding", "liver_mri_t1_fs", "Location", SEE,
     "In which organ, and on which side of the patient, is the focal lesion?",
     "In the liver, on the patient's right.",
     "The lesion lies in the large organ on the image left, i.e. the patient's right."),
    ("Spatial Understanding", "shoulder_mri_t1", "Joint anatomy", DX,
     "Which bone's head articulates with the glenoid in this image?",
     "The humerus.",
     "A rounded humeral head facing the glenoid of the scapula."),
    ("Temporal Prediction", "head_ct_plain", "Evolution", TRE,
     "If an acute ischaemic stroke were present, how would it change on CT over the following days?",
     "It would become more clearly hypodense and better demarcated.",
     "A non-contrast axial head CT slice."),
    ("Temporal Prediction", "chest_xray_pa", "Follow-up", TRE,
     "After successful treatment of a lobar pneumonia, what change would a follow-up radiograph show?",
     "Clearing of the consolidation, which can lag clinical recovery by weeks.",
     "A frontal chest radiograph showing both lung fields."),
    ("Causal Reasoning", "colon_ihc", "Counterstain purpose", PA,
     "Why is hematoxylin counterstaining used in this immunohistochemistry section?",
     "To stain nuclei blue so that unlabelled tissue is visible for context.",
     "Blue nuclei in negative areas beside brown DAB-positive epithelium."),
    ("Causal Reasoning", "lymph_node_us_doppler", "Physical basis", PA,
     "What produces the orange colour signal in this ultrasound image?",
     "The Doppler shift from moving blood in the node's vessels.",
     "Orange colour foci within an oval node inside a Doppler box."),
    ("Long-tail Generalization", "tibia_xray_ap", "Rare bone lesion", DX,
     "What is the most likely diagnosis of the lesion in the distal tibia?",
     "Non-ossifying fibroma.",
     "An eccentric lucent metaphyseal lesion with a thin sclerotic margin."),
    ("Long-tail Generalization", "lymph_node_us_doppler", "Structure and technique", SEE,
     "Which structure is examined here, and with which technique?",
     "A lymph node, with power Doppler ultrasound.",
     "An oval node with orange flow signal; the screen is labelled LYMPH NODE."),
    ("Multi-source Integration", "tibia_xray_ap", "Report and image", CDS,
     "The report reads 'non-ossifying fibroma of distal tibia'. What management is usually appropriate?",
     "Observation; treatment only if large or symptomatic because of fracture risk.",
     "A small, well-defined benign-appearing lucent lesion of the distal tibia."),
    ("Multi-source Integration", "head_ct_plain", "Header and image", CDS,
     "The series is labelled '5/5mm Plain'. Combined with the image, what study is this?",
     "A non-contrast axial head CT with 5 mm slices.",
     "An axial CT slice of the head without contrast enhancement."),
)


def _to_uint8(image: SampleImage) -> np.ndarray:
    """DICOM pixels as display-ready 8-bit: modality LUT, window (or VOI LUT), MONOCHROME1 inverted."""
    import pydicom
    from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut

    ds = pydicom.dcmread(image.path())
    pixels = ds.pixel_array
    photometric = ds.PhotometricInterpretation
    if photometric == "PALETTE COLOR":
        return apply_color_lut(pixels, ds)
    if not photometric.startswith("MONOCHROME"):
        return pixels
    values = apply_modality_lut(pixels, ds).astype(np.float64)
    if image.window:
        centre, width = image.window
        low, high = centre - width / 2, centre + width / 2
    else:
        values = apply_voi_lut(values, ds).astype(np.float64)
        low, high = np.percentile(values, [0.5, 99.5])
    scaled = np.clip((values - low) / max(high - low, 1e-9), 0.0, 1.0)
    if photometric == "MONOCHROME1":
        scaled = 1.0 - scaled
    return np.round(scaled * 255).astype(np.uint8)


def render_png(image: SampleImage) -> bytes:
    """The image downscaled to at most MAX_SIDE pixels, as PNG bytes with its source in text chunks."""
    if image.file.endswith(".dcm"):
        picture = Image.fromarray(_to_uint8(image))
    else:
        picture = Image.open(image.path()).convert("RGB")
    picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    info = PngImagePlugin.PngInfo()
    info.add_text("Source", f"{image.package}: {image.file}")
    info.add_text("License", image.licence)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", pnginfo=info, optimize=True)
    return buffer.getvalue()


def image_path(name: str) -> str:
    return f"dataset/imgs/{name}.png"


def _record(index: int, task: str, image: str, subtype: str, kind: str, question: str,
            answer: str, description: str) -> dict:
    source = IMAGES[image]
    return {"index": index, "question": SAMPLE_MARK + question, "image_path": image_path(image),
            "answer": answer, "visual_description": description, "task": task, "subtype": subtype,
            "question type": kind, "modality": source.modality, "organ system": source.organ_system}


def sample_records() -> tuple[list[dict], list[dict]]:
    """The MCQ and open-ended lists, with the release's key names (including the spaces)."""
    mcq = []
    for index, (task, image, subtype, kind, question, options, answer, description) in enumerate(MCQ):
        record = _record(index, task, image, subtype, kind, question, answer, description)
        record.update(zip(LETTERS, options))
        mcq.append(record)
    open_ended = [_record(index, *fields) for index, fields in enumerate(OPEN)]
    return mcq, open_ended


def sources() -> list[dict]:
    """Where every sample image comes from and under which licence (also shipped in the archive)."""
    return [{"image_path": image_path(image.name), "package": image.package, "file": image.file,
             "licence": image.licence, "description": image.description} for image in IMAGES.values()]


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1).encode("utf-8")


def release_entries() -> dict[str, bytes | None]:
    """Every archive member (None = directory entry), including the clutter real archives carry."""
    mcq, open_ended = sample_records()
    mcq_json, open_json = _json_bytes(mcq), _json_bytes(open_ended)
    entries: dict[str, bytes | None] = {
        "dataset/": None,
        "dataset/imgs/": None,
        "dataset/cmed.copy.mcq_cate.cleaned.json": mcq_json,
        "dataset/cmed.copy.open_taged.cleaned.json": open_json,
        "dataset/cmed.copy.mcq_cate.cleaned.json.bak": mcq_json[: len(mcq_json) // 2],
        SAMPLE_SOURCES: _json_bytes({"note": "Sample release of the Med-CMR tooling. Questions are "
                                   "sample questions written for the tooling, not Med-CMR "
                                   "benchmark items. Research use only; not for clinical use.",
                                   "images": sources()}),
        "__MACOSX/": None,
        "__MACOSX/dataset/": None,
        "__MACOSX/dataset/._cmed.copy.mcq_cate.cleaned.json": b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X",
    }
    for image in IMAGES.values():
        entries[image_path(image.name)] = render_png(image)
    entries[f"__MACOSX/{image_path('chest_xray_pa').replace('imgs/', 'imgs/._')}"] = b"\x00\x05\x16\x07"
    return dict(sorted(entries.items()))


def write_sample_release(path: Path) -> Path:
    """Write the sample archive to `path` (same bytes on every run) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def archive(out: BinaryIO) -> None:
        with zipfile.ZipFile(out, "w") as zipped:
            for name, data in release_entries().items():
                zipped.writestr(_zip_info(name, data), data or b"")
    return atomic_write(path, archive)


def _zip_info(name: str, data: bytes | None) -> zipfile.ZipInfo:
    """A fixed timestamp and fixed permissions, so the archive's bytes never change."""
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.create_system = 3
    if data is None:
        info.external_attr = (0o40755 << 16) | 0x10
    else:
        info.external_attr = 0o100644 << 16
        info.compress_type = zipfile.ZIP_STORED if name.endswith(".png") else zipfile.ZIP_DEFLATED
    return info
