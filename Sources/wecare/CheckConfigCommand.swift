import ArgumentParser
import Foundation
import Gateway

struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a gateway configuration: a summary when it is usable, every problem with FILE:LINE otherwise.")

    @Option(name: .long, help: "The configuration file.")
    var config: String = "conf/gateway.toml"

    func run() async throws {
        do {
            let configuration = try ConfigurationLoader.load(URL(fileURLWithPath: config))
            print(configuration.summary)
            for warning in PrivateFiles.warnings(dataDirectory: configuration.dataDirectory) {
                FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
            }
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            FileHandle.standardError.write(Data("\(error.problems.count) problem(s); fix them and run check-config again\n".utf8))
            throw ExitCode(1)
        }
    }
}
