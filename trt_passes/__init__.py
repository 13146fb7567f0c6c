"""trt-passes: a PyTorch-to-TensorRT compiler whose lowerings and converters are .rw rewrite rules."""
