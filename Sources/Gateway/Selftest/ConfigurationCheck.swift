import Foundation

/// The configuration through the loader `serve` uses: the same problems, each FILE:LINE.
public enum ConfigurationCheck {
    /// The configuration when it is usable (the other checks need it), and the result line(s):
    /// a failure lists every problem after its line.
    public static func run(_ file: URL) -> (GatewayConfiguration?, SelftestResult) {
        do {
            let c = try ConfigurationLoader.load(file)
            let dicom = c.destinations.filter { if case .dicom = $0.kind { return true } else { return false } }.count
            return (c, SelftestResult(.ok, "config", "\(file.path): \(c.modalities.count) modality(ies), "
                + "\(c.destinations.count) destination(s) (\(dicom) DICOM), AE title \(c.listener.aeTitle) port \(c.listener.port)"))
        } catch let e as ConfigurationError {
            return (nil, SelftestResult(.fail, "config", "\(e.problems.count) problem(s); fix them (`wecare check-config` "
                + "lists the same):\n" + e.problems.map { "      \($0)" }.joined(separator: "\n")))
        } catch {
            return (nil, SelftestResult(.fail, "config", "\(file.path): \(error)"))
        }
    }
}
