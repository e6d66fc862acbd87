/// One abstract syntax the SCP accepts, with its transfer syntaxes in order of preference.
public struct AcceptedPresentationContext: Sendable, Equatable {
    public var sopClassUID: String
    public var transferSyntaxUIDs: [String]

    public init(sopClassUID: String, transferSyntaxUIDs: [String]) {
        self.sopClassUID = sopClassUID
        self.transferSyntaxUIDs = transferSyntaxUIDs
    }
}

public struct StorageSCPConfiguration: Sendable {
    public var aeTitle: String
    /// 0 picks a free port (read it back from `StorageSCP.boundPort`).
    public var port: UInt16
    /// Concurrent associations; association n+1 is refused transient "local limit exceeded".
    public var maxAssociations: Int
    /// Connections at once between accept and a complete A-ASSOCIATE-RQ (TLS handshake included),
    /// each on its own thread; one more is closed at once. A silent client holds one for at most
    /// `acseTimeoutSeconds`.
    public var maxHandshakes: Int
    /// Also the deadline for accept + TLS handshake + A-ASSOCIATE-RQ, however slowly the peer sends.
    public var acseTimeoutSeconds: Int
    public var dimseTimeoutSeconds: Int
    public var tls: TLSConfiguration?
    /// What is accepted; defaults to `StorageSCPConfiguration.defaultPresentationContexts`.
    public var presentationContexts: [AcceptedPresentationContext]
    /// Checks each received file before the delegate decides (`ReceivedDataset.scan`).
    /// Defaults to the standard limits, a required meta header, and the image SOP classes of
    /// `presentationContexts` as the accepted ones.
    public var validator: InstanceValidator

    /// `maxHandshakes` nil: as many as `maxAssociations`.
    public init(aeTitle: String, port: UInt16, maxAssociations: Int = 8, maxHandshakes: Int? = nil, acseTimeoutSeconds: Int = 30,
                dimseTimeoutSeconds: Int = 60, tls: TLSConfiguration? = nil,
                presentationContexts: [AcceptedPresentationContext] = StorageSCPConfiguration.defaultPresentationContexts,
                maxImageSamples: Int = ImageChecks.defaultMaxSamples) {
        self.aeTitle = aeTitle
        self.port = port
        self.maxAssociations = maxAssociations
        self.maxHandshakes = maxHandshakes ?? maxAssociations
        self.acseTimeoutSeconds = acseTimeoutSeconds
        self.dimseTimeoutSeconds = dimseTimeoutSeconds
        self.tls = tls
        self.presentationContexts = presentationContexts
        let imageClasses = Set(presentationContexts.map(\.sopClassUID)).subtracting([NetworkUID.SOPClass.verification])
        validator = InstanceValidator(scanner: DatasetScanner(requireMetaHeader: true),
                                      checks: ImageChecks(maxSamples: maxImageSamples, acceptedSOPClasses: imageClasses))
    }

    /// Compressed first so a modality never has to transcode; bytes are kept as received.
    /// No J2K/HTJ2K/MPEG/HEVC: nothing here can decode them, so the SCU falls back or fails cleanly.
    public static let defaultUltrasoundTransferSyntaxes: [String] = [
        NetworkUID.TransferSyntax.jpegBaseline, NetworkUID.TransferSyntax.jpegExtended, NetworkUID.TransferSyntax.jpegLosslessSV1,
        NetworkUID.TransferSyntax.jpegLSLossless, NetworkUID.TransferSyntax.jpegLSNearLossless, NetworkUID.TransferSyntax.rle,
        NetworkUID.TransferSyntax.explicitVRLittleEndian, NetworkUID.TransferSyntax.implicitVRLittleEndian,
    ]

    public static let defaultPresentationContexts: [AcceptedPresentationContext] = [
        AcceptedPresentationContext(sopClassUID: NetworkUID.SOPClass.ultrasoundImageStorage,
                                    transferSyntaxUIDs: defaultUltrasoundTransferSyntaxes),
        AcceptedPresentationContext(sopClassUID: NetworkUID.SOPClass.ultrasoundMultiFrameImageStorage,
                                    transferSyntaxUIDs: defaultUltrasoundTransferSyntaxes),
        AcceptedPresentationContext(sopClassUID: NetworkUID.SOPClass.verification,
                                    transferSyntaxUIDs: [NetworkUID.TransferSyntax.explicitVRLittleEndian,
                                                         NetworkUID.TransferSyntax.implicitVRLittleEndian]),
    ]
}
