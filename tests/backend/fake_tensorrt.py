"""A test double of TensorRT's runtime API, faithful where the engine runner depends on it, for machines without a GPU.

:class:`FakeTensorRT` stands in for the ``tensorrt`` (or ``tensorrt_rtx``) module. Building is real: ``Builder``
wraps the installed module's builder, so the network emission defines is the one TensorRT checks and serialises.
When it serialises an engine, the fake reads that network's I/O from the ``INetworkDefinition`` (tensor names, input
or output, dtype, shape with -1 for run-time sizes) and the builder config's optimisation profile (min/opt/max per
input), and files them under the engine bytes' SHA-256. ``Runtime.deserialize_cuda_engine`` of those bytes gives an
``ICudaEngine`` with exactly that I/O, and its ``IExecutionContext`` behaves as TensorRT documents:
``set_input_shape`` returns False (logging an error) for a rank or size outside the profile, ``get_tensor_shape`` of
an output is -1 where it depends on an input shape not yet set, ``execute_async_v3`` refuses to run with a tensor
address or input shape missing. Execution reads the inputs from the addresses given, computes the segment with the
reference runtime (the body must be registered with :meth:`FakeTensorRT.register`, as a GPU "knows" what the engine
computes), and writes the outputs to their addresses.

The engine lists its I/O tensors in the reverse of the network's order, so a runner that binds by position instead
of by name fails. :class:`FakeGpu` is the CUDA side (``trt_passes.backend.gpu``): the CPU plays the GPU.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import math
import types
from dataclasses import dataclass, field
from typing import Any

import torch

from trt_passes.backend.gpu import CudaDevices
from trt_passes.backend.layers.emission import ir_dtype
from trt_passes.backend.segment_runtime import run_reference
from trt_passes.ir.graph import Graph
from trt_passes.ir.symbolic import SymDim, fold
from trt_passes.ir.types import TORCH_DTYPES


def sha256(data: Any) -> str:
    return hashlib.sha256(bytes(memoryview(data))).hexdigest()


@dataclass(frozen=True)
class FakeTensor:
    """One network I/O tensor as read from the INetworkDefinition when the engine was built."""

    name: str
    is_input: bool
    dtype: Any  # the real module's DataType
    shape: tuple[int, ...]
    profile: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None


@dataclass
class BuiltEngine:
    tensors: list[FakeTensor]
    body: Graph | None = None


@dataclass
class Execution:
    engine: str
    input_shapes: dict[str, tuple[int, ...]]
    stream: int


class FakeConfig:
    """The real IBuilderConfig, remembering the optimisation profiles added to it (the API has no getter)."""

    def __init__(self, real: Any) -> None:
        object.__setattr__(self, "_real", real)
        object.__setattr__(self, "profiles", [])

    def add_optimization_profile(self, profile: Any) -> int:
        self.profiles.append(profile)
        return self._real.add_optimization_profile(profile)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._real, name, value)


class FakeBuilder:
    """The real Builder; building also files the network's I/O under the engine's hash."""

    def __init__(self, module: FakeTensorRT, logger: Any) -> None:
        self._module = module
        self._real = module.real.Builder(logger)

    def create_builder_config(self) -> FakeConfig:
        return FakeConfig(self._real.create_builder_config())

    def build_serialized_network(self, network: Any, config: FakeConfig) -> Any:
        serialized = self._real.build_serialized_network(network, config._real)
        if serialized is not None:  # the same network built again gives the same engine: keep its registration
            self._module.engines.setdefault(sha256(serialized), BuiltEngine(_network_io(network, config.profiles)))
        return serialized

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _network_io(network: Any, profiles: list[Any]) -> list[FakeTensor]:
    tensors = []
    for is_input, count, get in ((True, network.num_inputs, network.get_input),
                                 (False, network.num_outputs, network.get_output)):
        for i in range(count):
            t = get(i)
            shape = tuple(int(d) for d in t.shape)
            profile = None
            if is_input and profiles:
                lo, opt, hi = profiles[0].get_shape(t.name)
                profile = (tuple(lo), tuple(opt), tuple(hi))
            tensors.append(FakeTensor(t.name, is_input, t.dtype, shape, profile))
    return tensors


class FakeEngine:
    def __init__(self, module: FakeTensorRT, key: str, built: BuiltEngine, logger: Any) -> None:
        self._module, self.key, self.built, self.logger = module, key, built, logger
        self._tensors = {t.name: t for t in built.tensors}
        self._order = [t.name for t in reversed(built.tensors)]  # not the network's order: see the module doc

    @property
    def num_io_tensors(self) -> int:
        return len(self._order)

    @property
    def num_optimization_profiles(self) -> int:
        return 1

    def get_tensor_name(self, index: int) -> str:
        return self._order[index]

    def get_tensor_mode(self, name: str) -> Any:
        modes = self._module.real.TensorIOMode
        return modes.INPUT if self._tensors[name].is_input else modes.OUTPUT

    def get_tensor_dtype(self, name: str) -> Any:
        return self._tensors[name].dtype

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        return self._tensors[name].shape

    def get_tensor_profile_shape(self, name: str, profile_index: int) -> list[tuple[int, ...]]:
        t = self._tensors[name]
        if profile_index != 0 or not t.is_input:
            raise ValueError(f"no profile {profile_index} for {name}")
        return list(t.profile) if t.profile is not None else [t.shape, t.shape, t.shape]

    def create_execution_context(self) -> FakeContext:
        return FakeContext(self)


class FakeContext:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.addresses: dict[str, int] = {}

    def _error(self, message: str) -> bool:
        self.engine.logger.log(self.engine._module.real.ILogger.Severity.ERROR, message)
        return False

    def set_input_shape(self, name: str, shape: tuple[int, ...]) -> bool:
        t = self.engine._tensors.get(name)
        if t is None or not t.is_input:
            return self._error(f"setInputShape: {name!r} is not an input tensor")
        shape = tuple(int(d) for d in shape)
        lo, _, hi = t.profile if t.profile is not None else (t.shape, t.shape, t.shape)
        if len(shape) != len(t.shape) or any(not a <= d <= b for a, d, b in zip(lo, shape, hi)):
            return self._error(f"setInputShape: {name} shape {shape} is outside the optimisation profile "
                               f"[{lo}, {hi}]")
        self.shapes[name] = shape
        return True

    def set_tensor_address(self, name: str, address: int) -> bool:
        if name not in self.engine._tensors:
            return self._error(f"setTensorAddress: no tensor {name!r}")
        self.addresses[name] = int(address)
        return True

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        t = self.engine._tensors[name]
        if t.is_input:
            return self.shapes.get(name, t.shape)
        return self._output_shapes().get(name, t.shape)

    def _output_shapes(self) -> dict[str, tuple[int, ...]]:
        """TensorRT's shape inference: the body's output types with the input dims bound to the shapes set."""
        body = self.engine.built.body
        inputs = [t for t in self.engine.built.tensors if t.is_input]
        if body is None or any(t.name not in self.shapes for t in inputs):
            return {}
        symbols: dict[str, int] = {}
        for t, nid in zip(inputs, body.graph_inputs()):
            for d, size in zip(body.node(nid).type.shape, self.shapes[t.name]):
                if isinstance(d, SymDim) and d.isidentifier():
                    symbols.setdefault(str(d), size)
        outputs = [t for t in self.engine.built.tensors if not t.is_input]
        return {t.name: tuple(int(fold(d, symbols)) if isinstance(d, SymDim) else int(d) for d in body.type(v).shape)
                for t, v in zip(outputs, body.outputs())}

    def execute_async_v3(self, stream_handle: int) -> bool:
        built = self.engine.built
        if built.body is None:
            return self._error("this fake engine has no segment registered to compute it")
        missing = [t.name for t in built.tensors if t.name not in self.addresses
                   or (t.is_input and t.name not in self.shapes)]
        if missing:
            return self._error(f"enqueueV3: no address or input shape for {missing}")
        real = self.engine._module.real
        inputs = [_at(self.addresses[t.name], self.shapes[t.name], _dtype(real, t.dtype)).clone()
                  for t in built.tensors if t.is_input]
        results = run_reference(built.body, inputs)
        shapes = self._output_shapes()
        for t, value in zip([t for t in built.tensors if not t.is_input], results):
            if tuple(value.shape) != shapes[t.name]:
                return self._error(f"{t.name}: computed {tuple(value.shape)}, shape inference said {shapes[t.name]}")
            _at(self.addresses[t.name], shapes[t.name], _dtype(real, t.dtype)).copy_(value)
        self.engine._module.executions.append(Execution(self.engine.key, dict(self.shapes), int(stream_handle)))
        return True


def _dtype(real: Any, dt: Any) -> torch.dtype:
    return TORCH_DTYPES[ir_dtype(real, dt)]


def _at(address: int, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """The tensor of ``shape`` and ``dtype`` stored at ``address`` (the memory the runner pointed TensorRT at)."""
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes == 0:
        return torch.empty(shape, dtype=dtype)
    raw = (ctypes.c_uint8 * nbytes).from_address(address)
    return torch.frombuffer(raw, dtype=torch.uint8).view(dtype).view(shape)


class FakeRuntime:
    def __init__(self, module: FakeTensorRT, logger: Any) -> None:
        self._module, self._logger = module, logger

    def deserialize_cuda_engine(self, data: Any) -> FakeEngine | None:
        key = sha256(data)
        built = self._module.engines.get(key)
        if built is None:
            self._logger.log(self._module.real.ILogger.Severity.ERROR,
                             "deserializeCudaEngine: not an engine this TensorRT built (magic tag mismatch)")
            return None
        return FakeEngine(self._module, key, built, self._logger)


class FakeTensorRT(types.ModuleType):
    """The ``tensorrt`` module with the fake runtime: every other attribute is the installed module's."""

    def __init__(self, real: types.ModuleType, name: str) -> None:
        super().__init__(name)
        self.real = real
        self.__version__ = real.__version__
        self.engines: dict[str, BuiltEngine] = {}
        self.executions: list[Execution] = []
        self.Builder = functools.partial(FakeBuilder, self)
        self.Runtime = functools.partial(FakeRuntime, self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def register(self, engine: bytes, body: Graph) -> None:
        """What the engine ``engine`` computes: ``body`` on the reference runtime."""
        self.engines[sha256(engine)].body = body

    def register_program(self, program: torch.nn.Module) -> int:
        """Register every segment (``SegmentModule``) of a compiled program; returns how many."""
        count = 0
        for module in program.modules():
            if getattr(module, "engine", None) is not None and hasattr(module, "body"):
                self.register(module.engine, module.body)
                count += 1
        return count


@dataclass
class FakeGpu(CudaDevices):
    """One GPU of compute capability ``capability`` whose memory is the CPU's: engines run on ``cpu`` tensors."""

    capability_: tuple[int, int] = (8, 9)
    is_available: bool = True
    streams: list[int] = field(default_factory=list)

    device_type = "cpu"

    def available(self) -> bool:
        return self.is_available

    def current_index(self) -> int:
        return 0

    def capability(self, index: int) -> tuple[int, int]:
        return self.capability_

    def name(self, index: int) -> str:
        return "Fake GPU (CPU memory)"

    def normalize(self, device: torch.device | str) -> torch.device:
        return torch.device(device)

    def index_of(self, device: torch.device) -> int:
        return 0

    def stream_handle(self, device: torch.device) -> int:
        self.streams.append(0x5EED)
        return 0x5EED

    def on(self, device: torch.device) -> Any:
        return contextlib.nullcontext()
