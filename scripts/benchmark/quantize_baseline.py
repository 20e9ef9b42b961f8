"""The official SAM web demo's decoder as the official notebook ships it
(segment-anything/notebooks/onnx_model_example.ipynb): the single-mask ONNX export
quantized with onnxruntime.quantization.quantize_dynamic (uint8 weights, per_channel
False, reduce_range False). scripts/bench times it beside the fp32 export and takes the
faster of the two as the baseline.

onnxruntime 1.20's quantize_dynamic fails on this graph with the default operator list
(AttributeError in _dequantize_value, measured), so the operators quantized are
MatMul, Gemm and Conv, which hold nearly all of the decoder's weights (16.5 MB -> 4.7 MB);
the rest stays float32.
Needs onnx >= 1.14 (scripts/bootstrap puts 1.16.2 in third_party/py-onnx):
    PYTHONPATH=third_party/py-onnx .venv/bin/python scripts/benchmark/quantize_baseline.py IN.onnx OUT.onnx"""
import os
import sys


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src, out = sys.argv[1], sys.argv[2]
    quantize_dynamic(src, out, per_channel=False, reduce_range=False, weight_type=QuantType.QUInt8,
                     op_types_to_quantize=["MatMul", "Gemm", "Conv"])
    print(f"{out}: {os.path.getsize(out)} bytes (from {os.path.getsize(src)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
