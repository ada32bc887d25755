/**
 * The QR code of a link as an SVG document (error correction M: readable from a screen at a
 * distance). The encoder is loaded with the first QR code shown.
 */
export async function qrSvg(link: string): Promise<string> {
  const { default: QRCode } = await import('qrcode');
  return QRCode.toString(link, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}
