import QRCode from 'qrcode';

/** The QR code of a link as an SVG document (error correction M: readable from a screen at a distance). */
export function qrSvg(link: string): Promise<string> {
  return QRCode.toString(link, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}
