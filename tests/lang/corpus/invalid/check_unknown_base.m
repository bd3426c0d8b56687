// expect: 2:21: unknown model 'Unknwn' after extends
model Small extends Unknwn {
}
