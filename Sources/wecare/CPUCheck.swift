import Inference

/// What the inference engine needs from the CPU, checked before a model is loaded. The engine's
/// own kernels are compiled for x86-64 with AVX2 and FMA (Package.swift: `-target-cpu haswell`);
/// on a CPU without them its first kernel would stop the process with an illegal instruction, and
/// a gateway's workers would die one after another without saying why. Receiving and storing
/// need neither, so only the commands that run a model check. The check also chooses the kernel
/// set for the process (`KernelSet`: AVX-512 where the CPU has it, `WECARE_ISA` forces a lower one).
enum CPUCheck {
    /// Throws `KernelSetError` with what to do on a CPU the engine cannot run on, or when
    /// `WECARE_ISA` asks for a set this CPU lacks. Returns the kernels chosen.
    @discardableResult
    static func require() throws -> ActiveKernels {
        try KernelSet.active()
    }
}
