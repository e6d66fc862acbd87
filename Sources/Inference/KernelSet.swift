import CBLAS
import COneDNN
import Foundation

/// The kernels this process runs, chosen once from the CPU's feature flags: oneDNN, kept to the
/// set, runs the convolution trunk (`ConvolutionBackend`); the GEMMs (Gemm, MatMul, and the
/// engine's own 1x1 and im2col convolutions where they run) use OpenBLAS's kernels for the set,
/// loaded at run time (CShims/openblas); the engine's own direct and depthwise kernels are
/// compiled for AVX2 + FMA (the direct tiles also for AVX-512) and run on both sets.
///
/// OpenBLAS is not left to choose for itself: it goes by the CPU's model number, and on a
/// virtual machine that reports a generic model it falls back to SSE3 kernels a third as fast.
/// `WECARE_ISA` forces a lower set (e.g. `avx2` on an AVX-512 host), so every set a machine can
/// run is measured and tested there; an explicit `OPENBLAS_CORETYPE` is left as the admin set it.
public enum KernelSet: String, CaseIterable, Sendable {
    case avx512
    case avx2 = "avx2+fma"

    /// /proc/cpuinfo names of the instructions the set's kernels use.
    public var requiredFlags: [String] {
        switch self {
        case .avx512: ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]
        case .avx2: ["avx2", "fma"]
        }
    }

    /// OPENBLAS_CORETYPE for the set.
    var blasCore: String {
        switch self {
        case .avx512: "SkylakeX"
        case .avx2: "Haswell"
        }
    }

    /// The sets a CPU with `flags` can run, best first; every set when the flags are unknown
    /// (not Linux), as nothing can be checked there.
    public static func available(flags: Set<String>?) -> [KernelSet] {
        guard let flags else { return allCases }
        return allCases.filter { $0.requiredFlags.allSatisfy(flags.contains) }
    }

    /// The best set the CPU can run, or the one `forced` (WECARE_ISA) names.
    public static func choose(flags: Set<String>?, forced: String?) throws -> KernelSet {
        let runnable = available(flags: flags)
        if let forced, !forced.isEmpty {
            guard let set = KernelSet(rawValue: forced) ?? (forced == "avx2" ? .avx2 : nil) else {
                throw KernelSetError.unknown(forced, runnable)
            }
            guard runnable.contains(set) else {
                throw KernelSetError.notRunnable(set, missing: set.requiredFlags.filter { !(flags?.contains($0) ?? true) }, runnable)
            }
            return set
        }
        guard let best = runnable.first else {
            throw KernelSetError.none(missing: KernelSet.avx2.requiredFlags.filter { !(flags?.contains($0) ?? true) })
        }
        return best
    }

    /// The CPU's flags from the first "flags" line of /proc/cpuinfo (or of `WECARE_CPUINFO`,
    /// which the tests point at another CPU's); nil where none can be read.
    public static func cpuFlags(environment: [String: String] = ProcessInfo.processInfo.environment) -> Set<String>? {
        let path = environment["WECARE_CPUINFO"] ?? "/proc/cpuinfo"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return nil }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// The set this process runs and OpenBLAS's name for the kernels it loaded. Chosen and
    /// loaded on first use; every session in the process shares it.
    public static func active() throws -> ActiveKernels { try activation.get() }

    private static let activation: Result<ActiveKernels, Error> = Result {
        let env = ProcessInfo.processInfo.environment
        let set = try choose(flags: cpuFlags(environment: env), forced: env["WECARE_ISA"])
        let coretype: String? = env["OPENBLAS_CORETYPE"] == nil ? set.blasCore : nil
        var error = [CChar](repeating: 0, count: 512)
        guard wecare_blas_open(coretype, &error, error.count) == 0 else {
            throw KernelSetError.blasUnavailable(String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let convolutions = try ConvolutionBackend.choose(forced: env["WECARE_CONVOLUTIONS"])
        if convolutions == .oneDNN {
            // Before any primitive exists: oneDNN keeps to the set chosen here.
            guard wecare_onednn_set_max_isa(set == .avx512 ? 1 : 0) == 0 else {
                throw KernelSetError.oneDNNUnavailable("oneDNN refused to keep to \(set.rawValue)")
            }
        }
        return ActiveKernels(set: set, blasCore: String(cString: wecare_blas_core()), convolutions: convolutions)
    }
}

/// Who runs the convolution trunk (convolutions, residual adds, channel concats, nearest
/// up-samplings): oneDNN (libdnnl 2.6, kept to the chosen set), which measured faster than the
/// engine's own kernels under both sets (its JIT kernels in blocked layouts; on AVX-512 also
/// Winograd for the 3x3 layers), unless `WECARE_CONVOLUTIONS=own` asks for the engine's own
/// kernels, so both can be measured and tested on one host.
public enum ConvolutionBackend: String, CaseIterable, Sendable {
    case oneDNN = "onednn"
    case own

    /// oneDNN, or the backend `forced` (WECARE_CONVOLUTIONS) names.
    public static func choose(forced: String?) throws -> ConvolutionBackend {
        if let forced, !forced.isEmpty {
            guard let backend = ConvolutionBackend(rawValue: forced) else {
                throw KernelSetError.unknownBackend(forced)
            }
            return backend
        }
        return .oneDNN
    }
}

public struct ActiveKernels: Sendable, Equatable {
    public var set: KernelSet
    /// OpenBLAS's own name for the kernels it runs ("SkylakeX", "Haswell").
    public var blasCore: String
    /// Who runs the convolution trunk.
    public var convolutions: ConvolutionBackend = .own
}

public enum KernelSetError: Error, CustomStringConvertible {
    case unknown(String, [KernelSet])
    case notRunnable(KernelSet, missing: [String], [KernelSet])
    case none(missing: [String])
    case blasUnavailable(String)
    case unknownBackend(String)
    case oneDNNUnavailable(String)

    public var description: String {
        switch self {
        case .unknown(let name, let runnable):
            return "WECARE_ISA=\(name) names no kernel set; use one of \(runnable.map(\.rawValue)), or unset it to take the best"
        case .notRunnable(let set, let missing, let runnable):
            return "WECARE_ISA=\(set.rawValue) asks for kernels this CPU cannot run (it lacks \(missing.joined(separator: ", "))); "
                + "use one of \(runnable.map(\.rawValue)), or unset it"
        case .none(let missing):
            return "this CPU lacks \(missing.joined(separator: ", ")), which WeCare's inference engine needs (x86-64 with AVX2 and "
                + "FMA: Intel Haswell (2013) or AMD Excavator or newer); run the gateway on such a server, or set "
                + "[analysis] enabled = false to receive and store images without analysing them"
        case .blasUnavailable(let why):
            return why
        case .unknownBackend(let name):
            return "WECARE_CONVOLUTIONS=\(name) names no convolution backend; use one of \(ConvolutionBackend.allCases.map(\.rawValue)), or unset it"
        case .oneDNNUnavailable(let why):
            return "\(why); set WECARE_CONVOLUTIONS=own to run the engine's own kernels"
        }
    }
}
