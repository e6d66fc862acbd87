// swift-tools-version:6.0
// WeCare: a DICOM gateway that brings breast-ultrasound AI into the radiology workflow.
//
// Modules, in the order data flows through them:
//   CDCMTK     C++17 shim over DCMTK behind a plain C header (bytes in, bytes out)
//   CBLAS      OpenBLAS's sgemm, loaded at run time with the kernels the CPU's flags call for
//   COneDNN    C++17 shim over oneDNN (libdnnl): a region of the graph as oneDNN primitives
//   CPNG/CZlib system libraries: libpng's simplified API, zlib's inflate
//   DICOM      the DICOM face: Storage SCP/SCU, reading and decoding instances, SEG/SR/PR writers
//   Inference  a small ONNX runtime on Float32 NCHW tensors (OpenBLAS via CBLAS; AVX-512 tiles
//              in InferenceAVX512, the one module built for AVX-512, run only where the CPU has it;
//              the convolution trunk runs in oneDNN via COneDNN)
//   Analysis   pure image algorithms: preprocessing, mask postprocessing, tracing, measurement, SVG
//   Reporting  one image -> models -> analysis -> SEG/SR/PR/SVG/result.json
//   Gateway    config, spool, ledger, job pipeline, delivery, HTTP, metrics
//   ReadingRoom the radiologists' browser pages: accounts, sessions, worklist, viewer, editor, signing
//   wecare     the command line
import PackageDescription

let dcmtkLibraries = [
    "dcmtls", "dcmnet",
    "dcmjpeg", "ijg8", "ijg12", "ijg16", "dcmjpls", "dcmtkcharls", "dcmimage", "dcmimgle", "dcmdata", "oflog", "ofstd",
    "ssl", "crypto",
]

let package = Package(
    name: "WeCare",
    platforms: [.macOS(.v14)],
    products: [.executable(name: "wecare", targets: ["wecare"])],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        // The reading room: bcrypt password hashes (HummingbirdBcrypt only; the rest is not linked).
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
    ],
    targets: [
        .target(
            name: "CDCMTK",
            path: "CShims/dcmtk",
            cxxSettings: [.unsafeFlags(["-Wno-deprecated-declarations"])],
            linkerSettings: dcmtkLibraries.map { .linkedLibrary($0) } + [.linkedLibrary("stdc++")]
        ),
        // OpenBLAS through dlopen, after Swift has chosen its kernels (Inference/KernelSet.swift).
        .target(name: "CBLAS", path: "CShims/openblas", linkerSettings: [.linkedLibrary("dl")]),
        // oneDNN (Debian's libdnnl, OpenMP build): used for convolutions where Swift chooses it
        // (Inference/OneDNN/).
        .target(name: "COneDNN", path: "CShims/onednn",
                linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp"), .linkedLibrary("stdc++")]),
        .systemLibrary(name: "CPNG", path: "CShims/libpng"),
        .systemLibrary(name: "CZlib", path: "CShims/zlib"),
        .target(name: "DICOM", dependencies: ["CDCMTK", "CZlib", .product(name: "Logging", package: "swift-log")]),
        // The direct convolution's AVX-512 tiles: the only code built for AVX-512, run only when
        // the CPU reports it (Inference/KernelSet.swift).
        .target(name: "InferenceAVX512", swiftSettings: [.unsafeFlags(["-Ounchecked", "-target-cpu", "skylake-avx512"])]),
        .target(name: "Inference", dependencies: ["CBLAS", "COneDNN", "InferenceAVX512"],
                swiftSettings: [.unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"])]),
        .target(name: "Analysis"),
        .target(name: "Reporting", dependencies: ["DICOM", "Inference", "Analysis", "CPNG",
                                                  .product(name: "Logging", package: "swift-log")]),
        .target(name: "Gateway", dependencies: [
            "DICOM",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "TOMLKit", package: "TOMLKit"),
        ]),
        // Plain HTML, CSS and ES-module JavaScript in Web/, served from the bundle (no build step).
        .target(name: "ReadingRoom", dependencies: [
            "Gateway", "Reporting", "Analysis", "DICOM",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
        ], resources: [.copy("Web")]),
        .executableTarget(name: "wecare", dependencies: [
            "Gateway", "ReadingRoom", "Reporting", "Inference", "Analysis", "DICOM",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
        .testTarget(name: "DICOMTests", dependencies: ["DICOM"], exclude: ["ImageSupport", "WriterSupport"]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference"], resources: [.copy("Fixtures")]),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis"], exclude: ["Benchmarks"]),
        .testTarget(name: "ReportingTests", dependencies: ["Reporting", "DICOM", "Analysis", "Inference"],
                    exclude: ["Support/reference.py", "Support/make_us_dicom.py", "Support/check_outputs.py", "Support/dual_view.py"]),
        .testTarget(name: "ReadingRoomTests", dependencies: ["ReadingRoom", "Analysis", .product(name: "Hummingbird", package: "hummingbird")]),
        .testTarget(name: "GatewayTests", dependencies: ["Gateway", "DICOM", .product(name: "GRDB", package: "GRDB.swift")],
                    exclude: ["Helpers", "Benchmarks"]),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
