import Foundation
import Hummingbird

/// The reading room as the gateway sees it (its code lives in the ReadingRoom module, which
/// depends on the analysis and the DICOM writers; the gateway does not).
public protocol ReadingRoomPlugin: Sendable {
    /// Installed before the gateway's own routes: middleware that guards every route (sessions).
    func installFront(_ router: Router<BasicRequestContext>, service: GatewayService)
    /// Installed after the gateway's own routes: the pages and the review API.
    func installRoutes(_ router: Router<BasicRequestContext>, service: GatewayService)
    /// A job was analysed; `produced` holds everything it made, result.json included.
    func analysed(job: Int64, instance: ReceivedInstance, produced: [ProducedObject], service: GatewayService)
}
