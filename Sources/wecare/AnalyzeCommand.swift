import ArgumentParser

struct AnalyzeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "analyze", abstract: "Not built yet.")
    func run() async throws { throw ValidationError("'analyze' is not built yet") }
}
