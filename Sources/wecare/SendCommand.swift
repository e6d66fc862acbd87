import ArgumentParser
import Foundation
import Gateway

struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send files to a configured destination through the gateway's delivery path.")

    @Option(name: .long, help: "The configuration file.")
    var config: String = "conf/gateway.toml"

    @Option(name: .long, help: "Name of a [[destination]] in the configuration.")
    var to: String

    @Argument(help: "Files to send (DICOM files for a dicom destination).")
    var files: [String]

    func run() async throws {
        let configuration: GatewayConfiguration
        do {
            configuration = try ConfigurationLoader.load(URL(fileURLWithPath: config), checkDataDirectory: false)
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
        guard let destination = configuration.destinations.first(where: { $0.name == to }) else {
            FileHandle.standardError.write(Data("\(GatewayError.unknownDestination(name: to, known: configuration.destinations.map(\.name)))\n".utf8))
            throw ExitCode(2)
        }
        let results = ManualDelivery.send(files.map { URL(fileURLWithPath: $0) }, to: destination)
        var failures = 0
        for result in results {
            if let error = result.error {
                failures += 1
                print("FAILED \(result.item.file.path): \(error)")
            } else {
                print("OK     \(result.item.file.path) -> \(destination.name)")
            }
        }
        if failures > 0 {
            FileHandle.standardError.write(Data("\(failures) of \(results.count) file(s) not delivered\n".utf8))
            throw ExitCode(1)
        }
    }
}
