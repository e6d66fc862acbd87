import Foundation

/// What the inference engine needs from the CPU, checked before a model is loaded. The engine
/// is compiled for x86-64 with AVX2 and FMA (Package.swift: `-target-cpu haswell`); on a CPU
/// without them its first kernel would stop the process with an illegal instruction, and a
/// gateway's workers would die one after another without saying why. Receiving and storing
/// need neither, so only the commands that run a model check.
enum CPUCheck {
    /// The kernel set this build runs (`wecare bench` reports it).
    static let kernelSet = "avx2+fma"
    /// The CPU flags (as /proc/cpuinfo names them) the kernels use.
    static let required = ["avx2", "fma"]

    struct Unsupported: Error, CustomStringConvertible {
        var missing: [String]
        var description: String {
            "this CPU lacks \(missing.joined(separator: ", ")), which WeCare's inference engine needs (x86-64 with AVX2 and "
                + "FMA: Intel Haswell (2013) or AMD Excavator or newer); run the gateway on such a server, or set "
                + "[analysis] enabled = false to receive and store images without analysing them"
        }
    }

    /// The CPU's flags from /proc/cpuinfo's first "flags" line; nil where it cannot be read
    /// (not Linux): nothing is checked then.
    static func flags(cpuinfo: String?) -> Set<String>? {
        guard let cpuinfo,
              let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return nil }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// The required flags missing from `flags` (empty when all are there or nothing is known).
    static func missing(from flags: Set<String>?) -> [String] {
        guard let flags else { return [] }
        return required.filter { !flags.contains($0) }
    }

    /// Throws `Unsupported` on a CPU the engine cannot run on. `WECARE_CPUINFO` names another
    /// file to read instead of /proc/cpuinfo (for the tests: a CPU without AVX2).
    static func require() throws {
        let path = ProcessInfo.processInfo.environment["WECARE_CPUINFO"] ?? "/proc/cpuinfo"
        let missing = missing(from: flags(cpuinfo: try? String(contentsOfFile: path, encoding: .utf8)))
        if !missing.isEmpty { throw Unsupported(missing: missing) }
    }
}
