import Gateway

/// Why no analysis processor could be built.
struct ProcessorFactoryError: Error, CustomStringConvertible {
    var description: String
}

/// Builds the processor `wecare serve` hands each received instance to.
/// TEMPORARY: the lead replaces this body with the Reporting pipeline (model at settings.model).
func makeInstanceProcessor(_ settings: AnalysisSettings) throws -> InstanceProcessor {
    throw ProcessorFactoryError(description:
        "the analysis pipeline is not linked into this build yet; set [analysis] enabled = false to run as a receive-only gateway")
}
