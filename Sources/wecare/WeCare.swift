import ArgumentParser

@main
struct WeCare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wecare",
        abstract: "DICOM gateway that brings breast-ultrasound AI into the radiology workflow.",
        subcommands: [ServeCommand.self, CheckConfigCommand.self, SendCommand.self,
                      AnalyzeCommand.self, BenchCommand.self, BenchLedgerCommand.self, SelftestCommand.self,
                      WorkerCommand.self, UserCommand.self])
}
